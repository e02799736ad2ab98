import Foundation
import Logging
import Registry
import ServiceModel
import SvcDNSTesting
import Testing

/// A replica's registry following a real etcd: what is in the prefix at start is listed, and every later
/// write and delete (by anyone) reaches the catalog handed on to the snapshot builder.
@Suite struct EtcdFollowerTests {
    static func service(_ name: String, _ ip: String) -> Data {
        Data(#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"\#(name)","namespace":"shop"},"spec":{"clusterIP":"\#(ip)"}}"#.utf8)
    }

    /// Polls `registry` until `check` holds, for at most 5 s.
    static func eventually(_ registry: LiveRegistry, _ check: (Catalog) -> Bool) async -> Bool {
        for _ in 0..<250 {
            if check(registry.current.catalog) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test func listsThenFollowsEveryChange() async throws {
        let etcd = try TestEtcd()
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: [etcd.endpoint])
        _ = try await client.put("/svcdns/services/shop/web", Self.service("web", "10.96.0.1"))
        _ = try await client.put("/svcdns/services/shop/broken", Data(#"{"kind":"Service","metadata":{"name":"Not_Valid"}}"#.utf8))

        let registry = try LiveRegistry(store: nil, folder: FolderContents()) { _ in }
        let follower = EtcdFollower(client: client, prefix: "/svcdns", registry: registry, logger: Logger(label: "test"))
        let task = Task { try await follower.run() }
        defer { task.cancel() }
        let web = ObjectKey(namespace: "shop", name: "web")
        let api = ObjectKey(namespace: "shop", name: "api")

        let listed = await Self.eventually(registry) { $0.services[web]?.clusterIPs == [IPAddress("10.96.0.1")!] }
        #expect(listed, "what etcd held at start is served")
        #expect(registry.current.catalog.counts.services == 1, "the invalid object is left out")

        _ = try await client.put("/svcdns/services/shop/api", Self.service("api", "10.96.0.2"))
        _ = try await client.put("/svcdns/services/shop/web", Self.service("web", "10.96.0.9"))
        let followed = await Self.eventually(registry) {
            $0.services[api] != nil && $0.services[web]?.clusterIPs == [IPAddress("10.96.0.9")!]
        }
        #expect(followed, "later writes arrive through the watch")

        _ = try await client.delete("/svcdns/services/shop/web")
        let deleted = await Self.eventually(registry) { $0.services[web] == nil }
        #expect(deleted)
        let stored = registry.get(kind: "Service", key: api)
        #expect(stored?.revision != nil && stored!.revision > 0, "resourceVersion is etcd's revision")
    }
}
