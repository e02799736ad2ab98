import CoreMetrics
import Foundation
import Locking
import Logging
import ServiceLifecycle
import ServiceModel
import Synchronization

/// Keeps a replica's API objects in step with the shared store in etcd: lists the prefix once at a
/// revision, then applies every change from the next revision on. After a disconnect it watches again
/// from the last revision it applied, so no change is lost or applied twice; when that revision has been
/// compacted away it lists again and replaces its view whole. DNS keeps answering from the last view
/// while etcd is away.
///
/// Keys: `PREFIX/services/<ns>/<name>` and `PREFIX/endpointslices/<ns>/<name>`, each holding the
/// object's Kubernetes JSON.
public struct EtcdFollower: ServiceLifecycle.Service {
    public let client: EtcdClient
    public let prefix: String
    public let registry: LiveRegistry
    /// Whether etcd can be reached now, for `/readyz`.
    public let status: StoreStatus
    private let logger: Logger
    /// The revision of a listing made before `run()` (by `listFirst`): the watch starts after it.
    public var listedAt: Int64? = nil
    /// Keys per page of a listing (`EtcdClient.range`).
    public var pageSize = EtcdClient.defaultPageSize
    /// Waits between attempts while etcd cannot be reached, doubling up to the last.
    private let backoff: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2)]

    public init(client: EtcdClient, prefix: String, registry: LiveRegistry, status: StoreStatus = StoreStatus(), logger: Logger) {
        self.client = client
        self.status = status
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        self.registry = registry
        self.logger = logger
    }

    /// The key of an object of `kind` (Service or EndpointSlice).
    public static func key(prefix: String, kind: String, namespace: String, name: String) -> String? {
        switch kind {
        case "Service": "\(prefix)/services/\(namespace)/\(name)"
        case "EndpointSlice": "\(prefix)/endpointslices/\(namespace)/\(name)"
        default: nil
        }
    }

    /// The kind and key a store key names, or nil for a key of another shape.
    static func object(at key: String, prefix: String) -> (kind: String, namespace: String, name: String)? {
        guard key.hasPrefix(prefix + "/") else { return nil }
        let parts = key.dropFirst(prefix.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        switch parts[0] {
        case "services": return ("Service", String(parts[1]), String(parts[2]))
        case "endpointslices": return ("EndpointSlice", String(parts[1]), String(parts[2]))
        default: return nil
        }
    }

    /// Lists the prefix before the replica answers its first query, so a (re)started replica answers as its
    /// peers do from the start, rather than NXDOMAIN for shared names that clients would cache. Gives up
    /// after `limit` (as CoreDNS's kubernetes plugin waits up to 5 s for its first sync): the replica then
    /// serves its `zones/` alone and `run()` keeps trying. Returns the listing's revision, for `listedAt`.
    public func listFirst(within limit: Duration) async -> Int64? {
        let revision = await withTaskGroup(of: Int64?.self) { group in
            group.addTask {
                do {
                    return try await list()
                } catch {
                    status.markUnreachable("\(error)")
                    logger.warning("etcd unreachable at start: serving without the shared objects, retrying", metadata: ["error": "\(error)"])
                    return nil
                }
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if revision == nil && status.unreachable == nil {
            logger.warning("etcd did not answer within \(limit) at start: serving without the shared objects, retrying")
        }
        return revision
    }

    /// Follows the store until graceful shutdown or cancellation.
    public func run() async throws {
        // The watch waits on etcd indefinitely: shutdown cancels it rather than waiting for a change.
        try await cancelWhenGracefulShutdown {
            await follow()
        }
    }

    /// The loop itself, bounded by cancellation: list, watch, and on trouble back off and resume.
    func follow() async {
        var attempt = 0
        var applied: Int64? = listedAt
        // A watch that had worked for a moment (100 ms) and ended (its member went away) is resumed at once, through
        // the next member, before etcd counts as unreachable; one that keeps ending at once backs off.
        var watchingSince: ContinuousClock.Instant? = nil
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if applied == nil {
                    applied = try await list()
                }
                for try await batch in client.watch(prefix: prefix + "/", from: applied! + 1) {
                    attempt = 0
                    if watchingSince == nil { watchingSince = .now }
                    status.markReachable()
                    for event in batch {
                        applied = max(applied!, apply(event))
                    }
                }
            } catch EtcdClient.WatchEnd.compacted(let revision) {
                logger.info("etcd compacted past this replica's revision: listing again", metadata: ["etcd.revision": "\(revision)"])
                applied = nil
                continue
            } catch EtcdClient.WatchEnd.fellBehind {
                // Everything buffered was applied before the end came through: resume right after it.
                logger.info("etcd watch fell behind its buffer: resuming it", metadata: ["etcd.revision": "\(applied ?? 0)"])
                watchingSince = nil
                continue
            } catch EtcdClient.WatchEnd.tooLarge(let reason) {
                logger.warning("etcd watch message too large: listing again", metadata: ["error": "\(reason)"])
                applied = nil
                watchingSince = nil
                continue
            } catch {
                if let since = watchingSince {
                    watchingSince = nil
                    if since.duration(to: .now) > .milliseconds(100) {
                        logger.info("etcd watch ended: resuming it", metadata: ["error": "\(error)"])
                        continue
                    }
                }
                if status.markUnreachable("\(error)") {
                    logger.warning("etcd unreachable: serving the last data, retrying", metadata: ["error": "\(error)"])
                }
            }
            let wait = backoff[min(attempt, backoff.count - 1)]
            attempt += 1
            try? await Task.sleep(for: wait)
        }
    }

    /// Reads every object under the prefix and replaces the registry's API objects with them.
    private func list() async throws -> Int64 {
        let (kvs, revision) = try await client.range(prefix: prefix + "/", pageSize: pageSize)
        var objects: [StoredObject] = []
        for kv in kvs {
            guard let (kind, namespace, name) = Self.object(at: kv.key, prefix: prefix) else { continue }
            objects.append(
                StoredObject(
                    kind: kind, namespace: namespace, name: name, json: String(decoding: kv.value, as: UTF8.self),
                    revision: kv.modRevision
                )
            )
        }
        for invalid in registry.replaceAPIObjects(objects) {
            logger.error(
                "etcd holds an object that is not a valid manifest: left out",
                metadata: ["object": "\(invalid.kind) \(invalid.namespace)/\(invalid.name)"]
            )
        }
        status.markListed()
        logger.info("following etcd", metadata: ["etcd.revision": "\(revision)", "etcd.objects": "\(objects.count)"])
        return revision
    }

    /// Applies one change; returns its revision.
    private func apply(_ event: EtcdClient.WatchEvent) -> Int64 {
        switch event {
        case .put(let kv):
            guard let (kind, namespace, name) = Self.object(at: kv.key, prefix: prefix) else { return kv.modRevision }
            let stored = StoredObject(
                kind: kind, namespace: namespace, name: name, json: String(decoding: kv.value, as: UTF8.self),
                revision: kv.modRevision
            )
            let valid = registry.applyShared(
                kind: kind, key: ObjectKey(namespace: namespace, name: name), stored: stored, revision: kv.modRevision
            )
            if !valid {
                logger.error("etcd holds an object that is not a valid manifest: left out", metadata: ["etcd.key": "\(kv.key)"])
            }
            return kv.modRevision
        case .delete(let key, let revision):
            if let (kind, namespace, name) = Self.object(at: key, prefix: prefix) {
                registry.applyShared(kind: kind, key: ObjectKey(namespace: namespace, name: name), stored: nil, revision: revision)
            }
            return revision
        }
    }
}

/// Whether the shared store can be reached, as the follower last found it.
public final class StoreStatus: Sendable {
    private let problem = Locked<String?>(nil)
    private let up = Gauge(label: "svcdns_store_up")
    private let listed = Atomic<Bool>(false)

    public init() {}

    /// Whether the replica has listed etcd at least once, i.e. holds the shared objects.
    public var hasListed: Bool { listed.load(ordering: .acquiring) }

    func markListed() {
        listed.store(true, ordering: .releasing)
        markReachable()
    }

    /// Why etcd cannot be reached now; nil while it can.
    public var unreachable: String? { problem.withLock { $0 } }

    func markReachable() {
        problem.withLock { $0 = nil }
        up.record(1)
    }

    /// Returns true when this is news (the store was reachable before), so it is logged once per outage.
    @discardableResult
    func markUnreachable(_ reason: String) -> Bool {
        up.record(0)
        return problem.withLock { problem in
            defer { problem = reason }
            return problem == nil
        }
    }
}
