// ChangeOrigin: where a change of what DNS serves came from, and when, for the programming latency.

/// Which input a change came through, and the moment svcdns accepted it: an API write acknowledged, a file
/// change seen, an etcd event received (or a health transition, which does not pass the registry).
public struct ChangeOrigin: Hashable, Sendable {
    public enum Source: String, Hashable, Sendable, CaseIterable {
        case api, file, etcd, health
    }

    public var source: Source
    public var acceptedAt: ContinuousClock.Instant

    public init(_ source: Source, acceptedAt: ContinuousClock.Instant = .now) {
        self.source = source
        self.acceptedAt = acceptedAt
    }
}
