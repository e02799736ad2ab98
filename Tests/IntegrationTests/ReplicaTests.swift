import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several svcdns replicas sharing one registry through a real etcd: a write on one is answered by the
/// others, and a write with a stale resourceVersion is refused rather than lost.
@Suite(.serialized) struct ReplicaTests {
    static func service(_ name: String, _ ip: String, resourceVersion: String? = nil) -> String {
        let version = resourceVersion.map { #","resourceVersion":"\#($0)""# } ?? ""
        return #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"\#(name)"\#(version)},"spec":{"clusterIP":"\#(ip)"}}"#
    }

    /// A replica: the real binary serving the example `zones/` with its API objects in `store` (etcd://...).
    static func replica(_ store: String) throws -> SvcDNSProcess {
        try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--store", store])
    }

    /// True once `name` answers exactly `expected`, polling every 50 ms for at most `seconds`.
    static func answers(_ name: String, _ expected: [String], _ replica: SvcDNSProcess, within seconds: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try APITests.addresses(name, replica) == expected { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    /// 200 writes, each on the next of three replicas: the time from the write's acknowledgement until
    /// both other replicas answer it.
    @Test func aWriteOnOneReplicaIsAnsweredByTheOthers() throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let store = "etcd://127.0.0.1:\(etcd.clientPort)/svcdns-test"
        let replicas = try (0..<3).map { _ in try Self.replica(store) }
        defer { for replica in replicas { _ = replica.stop() } }

        var waits: [Double] = []
        for index in 0..<200 {
            let writer = replicas[index % 3]
            let readers = replicas.filter { $0 !== writer }
            let ip = "10.96.\(7 + index / 250).\(index % 250 + 1)"
            let reply = try TestHTTP.request(
                "PUT", "/api/v1/namespaces/default/services/shared", port: writer.httpPort, body: Self.service("shared", ip)
            )
            #expect(reply.status == 200 || reply.status == 201, "\(reply.body)")
            let written = Date()
            var waiting = readers
            for _ in 0..<2000 where !waiting.isEmpty {
                waiting = try waiting.filter { try APITests.addresses("shared.default.svc.cluster.local", $0) != [ip] }
                if !waiting.isEmpty { usleep(200) }
            }
            #expect(waiting.isEmpty, "write \(index) reached both other replicas")
            waits.append(Date().timeIntervalSince(written) * 1000)
        }
        waits.sort()
        let p50 = waits[waits.count / 2]
        let p99 = waits[min(waits.count - 1, waits.count * 99 / 100)]
        print("replica propagation over \(waits.count) writes (both other replicas answer): p50 \(String(format: "%.2f", p50)) ms, p99 \(String(format: "%.2f", p99)) ms")
        #expect(waits.count == 200)
        #expect(p99 < 100, "p99 \(p99) ms")
    }

    /// A replica killed and started again rebuilds from etcd before its first answer: it answers every name
    /// as its peer does, including the writes and deletions made while it was down.
    @Test func aRestartedReplicaAnswersAsItsPeerFromItsFirstAnswer() throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let store = "etcd://127.0.0.1:\(etcd.clientPort)"
        let peer = try Self.replica(store)
        defer { _ = peer.stop() }
        var restarted = try Self.replica(store)
        defer { _ = restarted.stop() }
        func put(_ name: String, _ ip: String) throws {
            let reply = try TestHTTP.request(
                "PUT", "/api/v1/namespaces/default/services/\(name)", port: peer.httpPort, body: Self.service(name, ip)
            )
            #expect(reply.status == 201 || reply.status == 200, "\(reply.body)")
        }
        for index in 1...10 { try put("r\(index)", "10.96.13.\(index)") }
        #expect(try APITests.answers("r10.default.svc.cluster.local", ["10.96.13.10"], restarted))

        kill(restarted.processIdentifier, SIGKILL)
        _ = restarted.stop()
        for index in 11...15 { try put("r\(index)", "10.96.13.\(index)") }
        try put("r1", "10.96.13.101")
        for index in 2...4 {
            let deleted = try TestHTTP.request("DELETE", "/api/v1/namespaces/default/services/r\(index)", port: peer.httpPort)
            #expect(deleted.status == 200, "\(deleted.body)")
        }
        // Enough objects that listing them takes the restarted replica a few hundred ms: were the listing
        // not done before the first answer, the checks below would race it (and they did fail so).
        try EtcdWriter(port: etcd.clientPort).putAll(
            (1...20000).map { ("/svcdns/services/default/b\($0)", Self.service("b\($0)", "10.97.\($0 / 250).\($0 % 250 + 1)")) }
        )
        restarted = try Self.replica(store)

        // No polling: the first answers after the restart already match.
        for index in 1...15 {
            let name = "r\(index).default.svc.cluster.local"
            let expected: [String] = index == 1 ? ["10.96.13.101"] : (2...4).contains(index) ? [] : ["10.96.13.\(index)"]
            #expect(try APITests.addresses(name, restarted) == expected, "\(name) on the restarted replica")
            #expect(try APITests.addresses(name, peer) == expected, "\(name) on its peer")
        }
        #expect(try APITests.addresses("b20000.default.svc.cluster.local", restarted) == ["10.97.80.1"])
        let readyz = try TestHTTP.request("GET", "/readyz", port: restarted.httpPort)
        #expect(readyz.status == 200, "\(readyz.body)")
    }

    /// A replica started while etcd is down answers its own zones/ but is not ready, and says why; once etcd
    /// is up it lists, serves the shared objects and becomes ready.
    @Test func aReplicaStartedWithoutEtcdIsNotReadyUntilItHasListed() throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        try EtcdWriter(port: etcd.clientPort).put("/svcdns/services/default/early", Self.service("early", "10.96.14.1"))
        etcd.stop()

        let replica = try Self.replica("etcd://127.0.0.1:\(etcd.clientPort)")
        defer { _ = replica.stop() }
        #expect(try APITests.addresses("web.default.svc.cluster.local", replica) == ["10.96.0.10"])
        #expect(try APITests.addresses("early.default.svc.cluster.local", replica).isEmpty)
        let waiting = try TestHTTP.request("GET", "/readyz", port: replica.httpPort)
        #expect(waiting.status == 503, "\(waiting.body)")
        #expect(waiting.body.contains("store: degraded: not yet listed from etcd: etcd unreachable"), "\(waiting.body)")

        try etcd.restart()
        // The replica backs off up to 2 s between attempts while etcd is away.
        #expect(try Self.answers("early.default.svc.cluster.local", ["10.96.14.1"], replica, within: 5))
        let ready = try TestHTTP.request("GET", "/readyz", port: replica.httpPort)
        #expect(ready.status == 200, "\(ready.body)")
        #expect(ready.body == "ready\n", "\(ready.body)")
    }

    @Test func aStaleResourceVersionIsAConflict() throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let store = "etcd://127.0.0.1:\(etcd.clientPort)"
        let first = try Self.replica(store)
        defer { _ = first.stop() }
        let second = try Self.replica(store)
        defer { _ = second.stop() }
        let path = "/api/v1/namespaces/default/services/race"

        let created = try TestHTTP.request("PUT", path, port: first.httpPort, body: Self.service("race", "10.96.8.1"))
        #expect(created.status == 201, "\(created.body)")
        let version = (APITests.json(created.body)["metadata"] as? [String: Any])?["resourceVersion"] as? String
        let seen = try #require(version)

        // Both writers saw `seen`; the first to write wins, the second is told so.
        let winner = try TestHTTP.request(
            "PUT", path, port: second.httpPort, body: Self.service("race", "10.96.8.2", resourceVersion: seen)
        )
        #expect(winner.status == 200, "\(winner.body)")
        let loser = try TestHTTP.request("PUT", path, port: first.httpPort, body: Self.service("race", "10.96.8.3", resourceVersion: seen))
        #expect(loser.status == 409)
        #expect(loser.body.contains("the object has been modified"), "\(loser.body)")
        #expect(try APITests.answers("race.default.svc.cluster.local", ["10.96.8.2"], first))
        #expect(try APITests.answers("race.default.svc.cluster.local", ["10.96.8.2"], second))

        let staleDelete = try TestHTTP.request(
            "DELETE", path, port: first.httpPort, body: #"{"preconditions":{"resourceVersion":"\#(seen)"}}"#
        )
        #expect(staleDelete.status == 409)
    }

    @Test func withEtcdGoneDNSKeepsTheLastDataAndWritesAre503() throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let replica = try Self.replica("etcd://127.0.0.1:\(etcd.clientPort)")
        defer { _ = replica.stop() }
        let path = "/api/v1/namespaces/default/services/kept"
        let created = try TestHTTP.request("PUT", path, port: replica.httpPort, body: Self.service("kept", "10.96.9.1"))
        #expect(created.status == 201, "\(created.body)")
        #expect(try APITests.answers("kept.default.svc.cluster.local", ["10.96.9.1"], replica))

        etcd.stop()
        let refused = try TestHTTP.request("PUT", path, port: replica.httpPort, body: Self.service("kept", "10.96.9.2"))
        #expect(refused.status == 503)
        #expect(refused.body.contains("etcd cannot be reached"), "\(refused.body)")
        #expect(try APITests.addresses("kept.default.svc.cluster.local", replica) == ["10.96.9.1"])
        #expect(try APITests.addresses("web.default.svc.cluster.local", replica) == ["10.96.0.10"])
        // Still ready (DNS answers), and saying the store is degraded.
        var readyz = try TestHTTP.request("GET", "/readyz", port: replica.httpPort)
        for _ in 0..<100 where !readyz.body.contains("store: degraded") {
            usleep(50_000)
            readyz = try TestHTTP.request("GET", "/readyz", port: replica.httpPort)
        }
        #expect(readyz.status == 200)
        #expect(readyz.body.contains("store: degraded: etcd unreachable"), "\(readyz.body)")
    }

    @Test func afterEtcdComesBackAReplicaResumesAndSeesOtherWriters() throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let replica = try Self.replica("etcd://127.0.0.1:\(etcd.clientPort)")
        defer { _ = replica.stop() }
        let created = try TestHTTP.request(
            "PUT", "/api/v1/namespaces/default/services/before", port: replica.httpPort, body: Self.service("before", "10.96.10.1")
        )
        #expect(created.status == 201, "\(created.body)")

        try etcd.restart()
        // Another client writes straight into etcd with etcdctl: the replica's resumed watch brings it.
        let put = try Tool.run(
            "etcdctl",
            ["--endpoints", "127.0.0.1:\(etcd.clientPort)", "put", "/svcdns/services/default/after", Self.service("after", "10.96.10.2")]
        )
        #expect(put.status == 0 && put.stdout == "OK\n", "etcdctl: \(put.stdout)\(put.stderr)")
        // The replica backs off up to 2 s between attempts while etcd is away.
        let seen = try Self.answers("after.default.svc.cluster.local", ["10.96.10.2"], replica, within: 5)
        #expect(seen, "a write made by another client after the restart is served")
        #expect(try APITests.addresses("before.default.svc.cluster.local", replica) == ["10.96.10.1"])
    }

    /// A three-member etcd loses a member mid-way: no acknowledged write is lost, and both replicas keep
    /// following (their watches move to the members left).
    @Test func aKilledEtcdMemberLosesNoAcknowledgedWrite() throws {
        let cluster = try TestEtcdCluster()
        defer { cluster.stop() }
        let store = "etcd://\(cluster.hosts)"
        let first = try Self.replica(store)
        defer { _ = first.stop() }
        let second = try Self.replica(store)
        defer { _ = second.stop() }

        var acknowledged: [String: String] = [:]
        var refused: [String] = []
        for index in 1...20 {
            if index == 8 {
                let leader = try #require(cluster.leader(), "a member leads")
                cluster.kill(member: leader)
            }
            let writer = index % 2 == 0 ? first : second
            let name = "m\(index)"
            let ip = "10.96.11.\(index)"
            let reply = try TestHTTP.request(
                "PUT", "/api/v1/namespaces/default/services/\(name)", port: writer.httpPort, body: Self.service(name, ip)
            )
            if reply.status == 201 { acknowledged[name] = ip } else { refused.append("\(name): \(reply.status) \(reply.body)") }
        }
        print("killed etcd leader: \(acknowledged.count) of 20 writes acknowledged; refused: \(refused)")
        // The write in flight when the leader dies waits out the election (within the client's 5 s) rather
        // than failing.
        #expect(acknowledged.count == 20, "writes go on through the members left: \(refused)")
        for (name, ip) in acknowledged.sorted(by: { $0.key < $1.key }) {
            #expect(try APITests.answers("\(name).default.svc.cluster.local", [ip], first), "\(name) on the first replica")
            #expect(try APITests.answers("\(name).default.svc.cluster.local", [ip], second), "\(name) on the second replica")
        }
    }

    /// The member a replica talks to is the leader, and is stopped by its operator: the write right after
    /// goes to the next member (the stopping one answers "the client connection is closing" or not at all),
    /// and the watch moves over without the replica ever calling etcd unreachable.
    @Test func aStoppedLeaderIsPassedOverWithoutAFailedWrite() throws {
        let cluster = try TestEtcdCluster()
        defer { cluster.stop() }
        let leader = try #require(cluster.leader(), "a member leads")
        let order = [leader] + cluster.clientPorts.indices.filter { $0 != leader }
        let store = "etcd://" + order.map { "127.0.0.1:\(cluster.clientPorts[$0])" }.joined(separator: ",")
        let writer = try Self.replica(store)
        defer { _ = writer.stop() }
        let reader = try Self.replica(store)
        defer { _ = reader.stop() }
        let before = try TestHTTP.request(
            "PUT", "/api/v1/namespaces/default/services/before", port: writer.httpPort, body: Self.service("before", "10.96.15.1")
        )
        #expect(before.status == 201, "\(before.body)")
        #expect(try APITests.answers("before.default.svc.cluster.local", ["10.96.15.1"], reader))
        // The reader resumes a watch through the next member at once only if the watch had worked for 100 ms
        // (EtcdFollower.follow; one that ends sooner counts as a failure and backs off). "before" came through
        // the reader's watch, so 200 ms from here it has: without the wait a slow reader (under ThreadSanitizer
        // its watch was set up just as "before" was written) saw its first batch less than 100 ms before the
        // leader stopped, and called etcd unreachable.
        usleep(200_000)

        cluster.stop(member: leader)
        let after = try TestHTTP.request(
            "PUT", "/api/v1/namespaces/default/services/after", port: writer.httpPort, body: Self.service("after", "10.96.15.2")
        )
        #expect(after.status == 201, "\(after.body)")
        #expect(try Self.answers("after.default.svc.cluster.local", ["10.96.15.2"], reader, within: 5))
        #expect(!reader.output.contains("etcd unreachable"), "\(reader.output)")
        #expect(!writer.output.contains("etcd unreachable"), "\(writer.output)")
    }

    /// The member a replica's watch is on freezes (SIGSTOP, as a hung host would): its connection stays open
    /// and it says nothing. The replica notices the silence within about 10 s and resumes its watch through
    /// another member, so a write made meanwhile reaches DNS.
    @Test func aSilentMemberIsNoticedAndTheWatchMovesOn() throws {
        let cluster = try TestEtcdCluster()
        defer { cluster.stop() }
        let replica = try Self.replica("etcd://\(cluster.hosts)")
        defer { _ = replica.stop() }
        try EtcdWriter(port: cluster.clientPorts[0]).put("/svcdns/services/default/early", Self.service("early", "10.96.16.1"))
        #expect(try APITests.answers("early.default.svc.cluster.local", ["10.96.16.1"], replica))

        // The member the replica's watch is on: the only one serving a watcher.
        let watched = try #require(cluster.clientPorts.indices.first { (cluster.watchers(member: $0) ?? 0) > 0 }, "a member serves the watch")
        let writer = EtcdWriter(port: cluster.clientPorts[(watched + 1) % cluster.clientPorts.count])
        cluster.pause(member: watched)
        defer { cluster.resume(member: watched) }
        let frozen = Date()
        // The other two elect a leader if the frozen member led; the writer retries meanwhile.
        try writer.put("/svcdns/services/default/late", Self.service("late", "10.96.16.2"))
        let seen = try Self.answers("late.default.svc.cluster.local", ["10.96.16.2"], replica, within: 20)
        let took = Date().timeIntervalSince(frozen)
        print("frozen etcd member: the write made after it froze answered after \(String(format: "%.1f", took)) s")
        #expect(seen, "the watch moved to another member\n\(replica.output)")
        #expect(took < 16, "noticed within the silence limit (10 s) and a 2 s status check: took \(took) s")
    }

    /// More objects than one reply of etcd may hold (64 MiB): 2,000 Services of 36 KiB each, listed in pages.
    @Test func aReplicaListsMoreThanOneReplyHolds() throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let padding = String(repeating: "x", count: 36 << 10)
        func service(_ index: Int) -> String {
            #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"big\#(index)","annotations":{"example.com/padding":"\#(padding)"}},"spec":{"clusterIP":"\#(Self.bigAddress(index))"}}"#
        }
        try EtcdWriter(port: etcd.clientPort).putAll((0..<2000).map { ("/svcdns/services/default/big\($0)", service($0)) }, perTransaction: 20)
        let replica = try Self.replica("etcd://127.0.0.1:\(etcd.clientPort)")
        defer { _ = replica.stop() }
        // The listing may take the replica longer than its 5 s at start; it keeps trying after.
        #expect(try Self.answers("big1999.default.svc.cluster.local", [Self.bigAddress(1999)], replica, within: 60), "\(replica.output)")
        var missing: [Int] = []
        for index in 0..<2000 where try APITests.addresses("big\(index).default.svc.cluster.local", replica) != [Self.bigAddress(index)] {
            missing.append(index)
        }
        #expect(missing.isEmpty, "\(missing.count) of 2,000 not served: \(missing.prefix(10))")
    }

    static func bigAddress(_ index: Int) -> String { "10.98.\(index / 250).\(index % 250 + 1)" }

    /// A replica cut off while etcd compacts past its revision lists again when it is back, and ends up
    /// with what its peers have: the write it missed, and without the object deleted meanwhile.
    @Test func aReplicaBehindCompactedHistoryListsAgain() throws {
        let cluster = try TestEtcdCluster()
        defer { cluster.stop() }
        // The replica talks to member 0 only; the writer to the other two.
        let replica = try Self.replica("etcd://127.0.0.1:\(cluster.clientPorts[0])")
        defer { _ = replica.stop() }
        let writer = EtcdWriter(port: cluster.clientPorts[1])
        try writer.put("/svcdns/services/default/old", Self.service("old", "10.96.12.1"))
        #expect(try APITests.answers("old.default.svc.cluster.local", ["10.96.12.1"], replica))

        cluster.kill(member: 0)
        try writer.delete("/svcdns/services/default/old")
        let revision = try writer.put("/svcdns/services/default/new", Self.service("new", "10.96.12.2"))
        try writer.compact(revision)
        try cluster.restart(member: 0)

        // Resumed from its last revision, the replica finds it compacted, lists again, and serves the rest.
        let caughtUp = try Self.answers("new.default.svc.cluster.local", ["10.96.12.2"], replica, within: 10)
        #expect(caughtUp, "the write made while it was away is served")
        #expect(try APITests.addresses("old.default.svc.cluster.local", replica).isEmpty, "the deleted object is gone")
    }
}

/// Writes straight into etcd through its JSON gateway, as another client (etcdctl) would. Each request is
/// retried for up to 10 s: right after a member dies the others may still be electing a leader. (Every
/// request here is idempotent.)
struct EtcdWriter {
    let port: Int

    @discardableResult
    func put(_ key: String, _ value: String) throws -> Int64 {
        let body = #"{"key":"\#(Data(key.utf8).base64EncodedString())","value":"\#(Data(value.utf8).base64EncodedString())"}"#
        return try revision(of: request("/v3/kv/put", body))
    }

    /// Many keys in a few transactions (etcd takes at most 128 operations, and 1.5 MiB, in one).
    func putAll(_ pairs: [(key: String, value: String)], perTransaction: Int = 100) throws {
        for start in stride(from: 0, to: pairs.count, by: perTransaction) {
            let puts = pairs[start..<min(start + perTransaction, pairs.count)].map { pair in
                #"{"request_put":{"key":"\#(Data(pair.key.utf8).base64EncodedString())","value":"\#(Data(pair.value.utf8).base64EncodedString())"}}"#
            }
            _ = try request("/v3/kv/txn", #"{"success":[\#(puts.joined(separator: ","))]}"#)
        }
    }

    func delete(_ key: String) throws {
        _ = try request("/v3/kv/deleterange", #"{"key":"\#(Data(key.utf8).base64EncodedString())"}"#)
    }

    func compact(_ revision: Int64) throws {
        _ = try request("/v3/kv/compaction", #"{"revision":"\#(revision)","physical":true}"#)
    }

    private func request(_ path: String, _ body: String) throws -> TestHTTP.Reply {
        var last = ""
        for _ in 0..<50 {
            if let reply = try? TestHTTP.request("POST", path, port: port, body: body, timeout: 2), reply.status == 200 {
                return reply
            } else {
                last = "no 200 answer"
            }
            usleep(200_000)
        }
        throw TestFailure(description: "POST \(path) to etcd on \(port) failed for 10 s: \(last)")
    }

    private func revision(of reply: TestHTTP.Reply) throws -> Int64 {
        let json = (try? JSONSerialization.jsonObject(with: Data(reply.body.utf8))) as? [String: Any]
        guard reply.status == 200, let header = json?["header"] as? [String: Any], let text = header["revision"] as? String,
            let revision = Int64(text)
        else { throw TestFailure(description: "no revision in \(reply.body)") }
        return revision
    }
}
