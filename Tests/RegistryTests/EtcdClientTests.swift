import Foundation
import Registry
import SvcDNSTesting
import Testing

/// The etcd client against a real etcd from Debian: a prefix read at a revision, writes that succeed only
/// while the key is at the revision the writer saw (what `resourceVersion` preconditions need), deletes.
@Suite struct EtcdClientTests {
    @Test func putRangeAndConditionalWrites() async throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: [etcd.endpoint])

        let first = try await client.put("/svcdns/services/default/web", Data(#"{"v":1}"#.utf8))
        let created = try #require(first)
        _ = try await client.put("/svcdns/services/default/api", Data(#"{"v":2}"#.utf8))
        _ = try await client.put("/svcdnsx/other", Data("outside the prefix".utf8))

        let read = try await client.range(prefix: "/svcdns/")
        let keys = read.kvs.map { $0.key }.sorted()
        #expect(keys == ["/svcdns/services/default/api", "/svcdns/services/default/web"])
        let found = read.kvs.first { $0.key.hasSuffix("/web") }
        let web = try #require(found)
        #expect(web.value == Data(#"{"v":1}"#.utf8))
        #expect(web.modRevision == created)
        #expect(read.revision >= created + 2)

        // A writer that saw `created` wins once; the next writer with the same stale revision loses.
        let updated = try await client.put("/svcdns/services/default/web", Data(#"{"v":3}"#.utf8), ifModRevision: created)
        #expect(updated != nil)
        let stale = try await client.put("/svcdns/services/default/web", Data(#"{"v":4}"#.utf8), ifModRevision: created)
        #expect(stale == nil)
        let now = try await client.range(prefix: "/svcdns/services/default/web")
        let values = now.kvs.map { $0.value }
        #expect(values == [Data(#"{"v":3}"#.utf8)])

        // Revision 0: only while the key does not exist.
        let again = try await client.put("/svcdns/services/default/api", Data("{}".utf8), ifModRevision: 0)
        #expect(again == nil)
        let fresh = try await client.put("/svcdns/services/default/new", Data("{}".utf8), ifModRevision: 0)
        #expect(fresh != nil)

        let staleDelete = try await client.delete("/svcdns/services/default/web", ifModRevision: created)
        #expect(staleDelete == nil)
        let current = try #require(updated)
        let deleted = try await client.delete("/svcdns/services/default/web", ifModRevision: current)
        #expect(deleted != nil)
        let missing = try await client.delete("/svcdns/services/default/web")
        #expect(missing == nil)
        let left = try await client.range(prefix: "/svcdns/")
        let remaining = left.kvs.map { $0.key }.sorted()
        #expect(remaining == ["/svcdns/services/default/api", "/svcdns/services/default/new"])
    }

    @Test func anUnreachableStoreIsSaidSo() async throws {
        let port = try SvcDNSProcess.freePort()
        let client = EtcdClient(endpoints: ["http://127.0.0.1:\(port)"], timeout: .seconds(2))
        await #expect(throws: EtcdClient.Failure.self) { _ = try await client.range(prefix: "/svcdns/") }
    }

    /// A watch from a revision sees every later change under the prefix, in order, and nothing outside it;
    /// a watch from a compacted revision ends saying so, so the replica knows to read everything again.
    @Test func aWatchSeesEveryChangeInOrderAndSaysWhenHistoryIsGone() async throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: [etcd.endpoint])
        let start = try #require(try await client.put("/svcdns/services/a/one", Data("1".utf8)))

        let stream = client.watch(prefix: "/svcdns/", from: start + 1)
        let two = try #require(try await client.put("/svcdns/services/a/two", Data("2".utf8)))
        _ = try await client.put("/elsewhere/x", Data("x".utf8))
        let gone = try #require(try await client.delete("/svcdns/services/a/one"))

        var seen: [EtcdClient.WatchEvent] = []
        for try await batch in stream {
            seen += batch
            if seen.count >= 2 { break }
        }
        let expected: [EtcdClient.WatchEvent] = [
            .put(EtcdClient.KeyValue(key: "/svcdns/services/a/two", value: Data("2".utf8), modRevision: two)),
            .delete(key: "/svcdns/services/a/one", revision: gone),
        ]
        #expect(seen == expected)

        try await client.compact(revision: gone)
        var ended: EtcdClient.WatchEnd? = nil
        do {
            for try await _ in client.watch(prefix: "/svcdns/", from: start) {}
        } catch let end as EtcdClient.WatchEnd {
            ended = end
        }
        #expect(ended == .compacted(gone))
    }
}
