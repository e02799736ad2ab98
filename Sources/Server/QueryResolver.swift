import Authority
import DNSMessage

/// Decides the response to one decoded query: the stage between decoding and encoding.
///
/// In a zone svcdns serves, the answer comes from the current snapshot; outside, the query is refused
/// (forwarding comes in a later stage). Reads one snapshot per query and takes no lock.
public struct QueryResolver: Sendable {
    public let snapshots: SnapshotStore

    public init(snapshots: SnapshotStore) {
        self.snapshots = snapshots
    }

    public func resolve(_ query: Query) -> Response {
        // RFC 6891 §6.1.3: an EDNS version we do not implement gets BADVERS and nothing else.
        if let edns = query.edns, edns.version > 0 {
            return Response(rcode: .badVersion)
        }
        guard query.recordClass == RecordClass.internet else {
            return Response(rcode: .refused)
        }
        // svcdns serves no zone transfers: its zones are views of a registry, not files to copy.
        if query.type == .axfr || query.type == .ixfr {
            return Response(rcode: .refused)
        }
        guard let answer = snapshots.load().answer(name: query.name, type: query.type) else {
            return Response(rcode: .refused)
        }
        return answer.response
    }
}
