import DNSMessage
import ServiceModel

/// One reason a file in `zones/` cannot be served as it is, printed as one line naming the file.
public enum LoadProblem: Error, Hashable, Sendable, CustomStringConvertible {
    /// A manifest problem: `FILE: Kind namespace/name: field: reason`, or `FILE:LINE: reason` for syntax.
    case manifest(ManifestError)
    /// A zone-file problem: `FILE:LINE: reason`.
    case zoneFile(ZoneFileError)
    /// A file that could not be read at all.
    case unreadable(file: String, reason: String)

    public var description: String {
        switch self {
        case .manifest(let error): error.description
        case .zoneFile(let error): error.description
        case .unreadable(let file, let reason): "\(file): \(reason)"
        }
    }

    /// The file the problem is in.
    public var file: String {
        switch self {
        case .manifest(let error): error.file
        case .zoneFile(let error): error.file
        case .unreadable(let file, _): file
        }
    }
}
