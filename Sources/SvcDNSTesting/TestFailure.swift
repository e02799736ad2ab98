/// Why a test helper could not do what it was asked (a socket call failed, a tool is missing, …).
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}
