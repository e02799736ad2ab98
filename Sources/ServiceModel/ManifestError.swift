// ManifestError: one problem found in a manifest file, printed as one line a person can act on.

/// One problem (or warning) in a manifest file, printed as one line.
///
/// An object problem reads `FILE: Kind namespace/name: field: reason`, e.g.
/// `zones/web.yaml: Service default/web: spec.ports[1].port: "70000" is not a port (1-65535)`.
/// A syntax problem (YAML or JSON that does not parse) reads `FILE:LINE: reason`, with a 1-based line.
public struct ManifestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file as the caller named it.
    public var file: String
    /// The 1-based line, for syntax problems; `nil` for object problems.
    public var line: Int?
    /// The object, e.g. `Service default/web`, or where it sits (`Service items[3]`) when its name is unreadable.
    public var object: String?
    /// The field in Kubernetes path notation, e.g. `spec.ports[1].port`.
    public var field: String?
    /// What is wrong, short and concrete.
    public var reason: String

    /// Creates a problem.
    public init(file: String, line: Int? = nil, object: String? = nil, field: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.object = object
        self.field = field
        self.reason = reason
    }

    /// The one-line form described on the type.
    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return ([location] + [object, field].compactMap { $0 } + [reason]).joined(separator: ": ")
    }
}
