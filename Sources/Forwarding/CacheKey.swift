import DNSMessage

/// What a cached answer answers: the question (lowercased name, type) and whether signatures were asked for.
public struct CacheKey: Hashable, Sendable {
    public var name: [UInt8]
    public var type: UInt16
    public var dnssecOK: Bool

    public init(name: DomainName, type: RecordType, dnssecOK: Bool) {
        self.name = name.lookupKey
        self.type = type.rawValue
        self.dnssecOK = dnssecOK
    }
}
