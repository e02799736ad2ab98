// Endpoints: a decoded, validated legacy `v1` Endpoints object.

/// A legacy `v1` Endpoints object. It belongs to the Service of the same namespace and name.
public struct Endpoints: Hashable, Sendable {
    /// Namespace and name, the same as its Service's.
    public var key: ObjectKey
    /// `subsets`, in manifest order.
    public var subsets: [EndpointSubset]

    /// Creates an Endpoints object; the values are not validated here.
    public init(key: ObjectKey, subsets: [EndpointSubset] = []) {
        self.key = key
        self.subsets = subsets
    }
}
