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

    /// A listing in pages of 100 over 2,000 keys gives every key once, in key order, with its value, at the
    /// revision of the first page.
    @Test func aListingInSmallPagesGivesEveryKeyOnce() async throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: [etcd.endpoint])
        let keys = (0..<2000).map { String(format: "/svcdns/services/ns%02d/svc-%04d", $0 % 7, $0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for start in stride(from: 0, to: keys.count, by: 100) {
                group.addTask {
                    for key in keys[start..<start + 100] { _ = try await client.put(key, Data(key.utf8)) }
                }
            }
            try await group.waitForAll()
        }
        _ = try await client.put("/svcdnsx/outside", Data("x".utf8))
        let last = try #require(try await client.put("/svcdns/services/zz/last", Data("last".utf8)))

        let listed = try await client.range(prefix: "/svcdns/", pageSize: 100)
        #expect(listed.kvs.count == 2001)
        #expect(listed.kvs.map(\.key) == (keys + ["/svcdns/services/zz/last"]).sorted())
        #expect(listed.kvs.allSatisfy { $0.key == "/svcdns/services/zz/last" || $0.value == Data($0.key.utf8) })
        #expect(listed.revision == last)
        let single = try await client.range(prefix: "/svcdns/", pageSize: 1)
        #expect(single.kvs.map(\.key) == listed.kvs.map(\.key), "a page of one key walks the range too")
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

    /// A consumer that does not keep up holds at most `watchBufferBatches` batches: past that the watch ends
    /// saying it fell behind (`fellBehind`), after every batch it held, which are the first changes in order,
    /// so the follower resumes from the last one it applied and loses nothing.
    @Test func aWatchWhoseConsumerFallsBehindEndsRatherThanGrow() async throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: [etcd.endpoint])
        let start = try #require(try await client.put("/svcdns/services/a/start", Data("0".utf8)))
        let stream = client.watch(prefix: "/svcdns/", from: start + 1)
        let writes = EtcdClient.watchBufferBatches + 100
        var revisions: [Int64] = []
        for index in 0..<writes {
            revisions.append(try #require(try await client.put("/svcdns/services/a/k\(index)", Data("\(index)".utf8))))
        }
        // Nothing was read meanwhile; give the stream a moment to bring in the last changes.
        try await Task.sleep(for: .milliseconds(500))

        // Read for at most 10 s: a stream that holds everything never ends on its own.
        let (seen, batches, ended) = await withTaskGroup(of: ([Int64], Int, EtcdClient.WatchEnd?)?.self) { group in
            group.addTask {
                var seen: [Int64] = []
                var batches = 0
                do {
                    for try await batch in stream {
                        batches += 1
                        for event in batch {
                            if case .put(let kv) = event { seen.append(kv.modRevision) }
                        }
                    }
                } catch {
                    return (seen, batches, error as? EtcdClient.WatchEnd)
                }
                return (seen, batches, nil)
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? ([], 0, nil)
        }
        #expect(ended == .fellBehind, "\(batches) batches, then \(String(describing: ended))")
        #expect(batches <= EtcdClient.watchBufferBatches)
        #expect(!seen.isEmpty && seen == Array(revisions.prefix(seen.count)), "the batches held are the first changes, in order")
    }
}
