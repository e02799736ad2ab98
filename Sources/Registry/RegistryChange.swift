import DNSMessage
import ServiceModel

/// One change of the registry as it hands it on: the merged catalog and zone files after it, the Services it
/// may have touched, and its number.
///
/// Writers number their changes under the registry's lock but hand them on after releasing it, so two
/// writers' changes can arrive in either order. Receivers keep the newest by `sequence`, never the last to
/// arrive: an older catalog applied over a newer one would take a write back out of DNS.
public struct RegistryChange: Sendable {
    /// Counts every change of this registry from 1; 0 is the registry as it was created.
    public var sequence: UInt64
    public var catalog: Catalog
    public var zones: [ZoneFileContents]
    /// The Services whose records may differ from the change before; nil: any of them (a new reading of
    /// the folder, a new listing of etcd).
    public var changedServices: Set<ObjectKey>?
    /// Where the change came from and when it was accepted, for the DNS programming latency; nil for the
    /// registry as it stands (startup), which is no change.
    public var origin: ChangeOrigin?

    public init(
        sequence: UInt64, catalog: Catalog, zones: [ZoneFileContents], changedServices: Set<ObjectKey>?,
        origin: ChangeOrigin? = nil
    ) {
        self.sequence = sequence
        self.catalog = catalog
        self.zones = zones
        self.changedServices = changedServices
        self.origin = origin
    }
}
