import Foundation
import ServiceModel

/// The registry's API objects in etcd: each object's Kubernetes JSON under `PREFIX/services/<ns>/<name>`
/// or `PREFIX/endpointslices/<ns>/<name>`, its `resourceVersion` the key's mod revision.
public struct EtcdStore: Sendable {
    public let client: EtcdClient
    /// Without a trailing slash, e.g. `/svcdns`.
    public let prefix: String

    public init(client: EtcdClient, prefix: String) {
        self.client = client
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
    }

    /// Parses `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]` (default prefix `/svcdns`); nil when it is not one.
    public init?(url: String) {
        guard url.hasPrefix("etcd://") else { return nil }
        let rest = url.dropFirst("etcd://".count)
        let hosts = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(hosts.count)
        let endpoints = hosts.split(separator: ",").map { "http://\($0)" }
        guard !endpoints.isEmpty, endpoints.allSatisfy({ $0.contains(":") && $0.count > "http://".count }) else { return nil }
        self.init(client: EtcdClient(endpoints: endpoints), prefix: path.isEmpty || path == "/" ? "/svcdns" : String(path))
    }

    func key(kind: String, _ key: ObjectKey) -> String? {
        EtcdFollower.key(prefix: prefix, kind: kind, namespace: key.namespace, name: key.name)
    }

    /// Writes the object; the new revision, or nil when `ifRevision` no longer holds.
    func put(kind: String, key: ObjectKey, json: String, ifRevision: Int64?) async throws -> Int64? {
        guard let path = self.key(kind: kind, key) else { return nil }
        return try await client.put(path, Data(json.utf8), ifModRevision: ifRevision)
    }

    /// Deletes the object; the revision of the deletion, or nil when it was not there (at `ifRevision`).
    func delete(kind: String, key: ObjectKey, ifRevision: Int64?) async throws -> Int64? {
        guard let path = self.key(kind: kind, key) else { return nil }
        return try await client.delete(path, ifModRevision: ifRevision)
    }
}
