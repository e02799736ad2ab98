/// Why a message could not be read as a query, and so how it is answered.
public enum DecodeError: Error, Hashable, Sendable {
    /// Fewer than 12 bytes: there is no ID to answer to, so the message is dropped.
    case shortHeader
    /// QR is set: answering a response invites a loop between two servers, so it is dropped.
    case notAQuery
    /// The header reads but the rest does not: answered FORMERR with the ID echoed.
    case malformed(QueryHeader, MalformedReason)
    /// An opcode other than QUERY: answered NOTIMP (RFC 1035 §4.1.1).
    case notImplemented(QueryHeader)

    /// The header to answer with, when there is one.
    public var header: QueryHeader? {
        switch self {
        case .shortHeader, .notAQuery: nil
        case .malformed(let header, _), .notImplemented(let header): header
        }
    }
}

/// The named ways a query can be malformed; tests and logs refer to these.
public enum MalformedReason: Error, Hashable, Sendable {
    case questionCount(Int)
    case truncated
    case labelTooLong
    case nameTooLong
    case badLabelType
    case pointerLoop
    case trailingBytes
    case duplicateOPT
    case optNotAtRoot
    case badEDNSOption
    /// An EDNS Client Subnet option that RFC 7871 §7.1.1 calls malformed, or a second one.
    case badClientSubnet
    /// An A record's data is not 4 bytes, or an AAAA's not 16.
    case badAddressLength
    /// A record of another class than IN: svcdns serves and forwards class IN only, and writes every record as IN.
    case notInternetClass
}
