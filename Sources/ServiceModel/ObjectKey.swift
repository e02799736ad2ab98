// ObjectKey: namespace and name, the identity of every namespaced Kubernetes object.

/// The identity of a namespaced object. Sorted by namespace, then name; printed as `namespace/name`.
public struct ObjectKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The object's namespace (`metadata.namespace`, `default` when the manifest leaves it out).
    public var namespace: String
    /// The object's name (`metadata.name`).
    public var name: String

    /// Creates a key from a namespace and a name; neither is validated here.
    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// `namespace/name`, as kubectl prints it.
    public var description: String { "\(namespace)/\(name)" }

    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }
}
