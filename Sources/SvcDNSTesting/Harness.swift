import Authority
import DNSMessage
import Server

/// The no-socket harness: a query runs through the same `QueryPipeline` the server uses, against a
/// snapshot, and the bytes that would go on the wire are decoded by libldns.
public enum Harness {
    /// Answers `query` from `snapshot`; nil when the pipeline drops it.
    public static func answer(_ query: [UInt8], from snapshot: Snapshot, overTCP: Bool = false) throws -> DecodedResponse? {
        let pipeline = QueryPipeline(resolver: QueryResolver(snapshots: SnapshotStore(snapshot)))
        var output: [UInt8] = []
        let outcome = query.withUnsafeBytes {
            pipeline.respond(to: $0, overTCP: overTCP, client: nil, into: &output)
        }
        guard case .answered = outcome else { return nil }
        return try LDNS.decode(output)
    }
}
