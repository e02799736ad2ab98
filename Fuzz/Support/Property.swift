#if canImport(Glibc)
    import Glibc
#endif

/// A property every input must keep. A broken one is reported as a crash, so libFuzzer keeps the input
/// that broke it (under Fuzz/crashes/, by scripts/fuzz) exactly as it keeps one that trapped.
public func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    guard !condition else { return }
    let report = "property broken at \(file):\(line): \(message())\n"
    _ = report.withCString { write(2, $0, strlen($0)) }
    abort()
}

/// The fuzzer's bytes as a reader that hands out small decisions (chunk sizes, flags) from the front, so one
/// input drives both the data and the way it is delivered.
public struct FuzzInput {
    private var bytes: UnsafeRawBufferPointer

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    public var isEmpty: Bool { bytes.isEmpty }

    /// The next byte, or 0 once the input is used up.
    public mutating func byte() -> UInt8 {
        guard let first = bytes.first else { return 0 }
        bytes = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
        return first
    }

    /// Up to `count` bytes from the front.
    public mutating func take(_ count: Int) -> UnsafeRawBufferPointer {
        let taken = UnsafeRawBufferPointer(rebasing: bytes.prefix(count))
        bytes = UnsafeRawBufferPointer(rebasing: bytes.dropFirst(taken.count))
        return taken
    }

    /// Whatever is left.
    public mutating func rest() -> UnsafeRawBufferPointer {
        take(bytes.count)
    }
}
