/// A resource record type (RFC 1035 §3.2.2 and later registrations), as its 16-bit code.
public struct RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = RecordType(rawValue: 1)
    public static let ns = RecordType(rawValue: 2)
    public static let cname = RecordType(rawValue: 5)
    public static let soa = RecordType(rawValue: 6)
    public static let ptr = RecordType(rawValue: 12)
    public static let hinfo = RecordType(rawValue: 13)
    public static let mx = RecordType(rawValue: 15)
    public static let txt = RecordType(rawValue: 16)
    public static let aaaa = RecordType(rawValue: 28)
    public static let srv = RecordType(rawValue: 33)
    public static let opt = RecordType(rawValue: 41)
    public static let tsig = RecordType(rawValue: 250)
    public static let ixfr = RecordType(rawValue: 251)
    public static let axfr = RecordType(rawValue: 252)
    public static let any = RecordType(rawValue: 255)

    private static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA",
        33: "SRV", 41: "OPT", 250: "TSIG", 251: "IXFR", 252: "AXFR", 255: "ANY",
    ]

    /// The mnemonic (`AAAA`), or the RFC 3597 form `TYPE65280` for types without one here.
    public var description: String { Self.names[rawValue] ?? "TYPE\(rawValue)" }

    /// Parses a mnemonic or `TYPEnnn`, case-insensitively.
    public init?(_ text: String) {
        let upper = text.uppercased()
        if let (code, _) = Self.names.first(where: { $0.value == upper }) {
            self.init(rawValue: code)
        } else if upper.hasPrefix("TYPE"), let code = UInt16(upper.dropFirst(4)) {
            self.init(rawValue: code)
        } else {
            return nil
        }
    }

    /// Meta and question-only types (RFC 6895 §3.1) that never name an RRset in a zone.
    public var isMetaType: Bool { rawValue == 41 || (128...255).contains(rawValue) }
}

/// The DNS classes svcdns distinguishes: it serves IN only.
public enum RecordClass {
    public static let internet: UInt16 = 1
    public static let any: UInt16 = 255
}

/// A response code, including the extended codes carried in EDNS (RFC 6891 §6.1.3).
public struct ResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = ResponseCode(rawValue: 0)
    public static let formatError = ResponseCode(rawValue: 1)
    public static let serverFailure = ResponseCode(rawValue: 2)
    public static let nameError = ResponseCode(rawValue: 3)
    public static let notImplemented = ResponseCode(rawValue: 4)
    public static let refused = ResponseCode(rawValue: 5)
    /// RFC 2136 §2.2 (used by RFC 5936 §2.2.1): not authoritative for the zone named.
    public static let notAuthoritative = ResponseCode(rawValue: 9)
    public static let badVersion = ResponseCode(rawValue: 16)

    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 9: "NOTAUTH"
        case 16: "BADVERS"
        default: "RCODE\(rawValue)"
        }
    }
}
