import DNSMessage
import Locking
import Logging
import ServiceModel

/// The registry while svcdns runs: the objects of the `zones/` folder and the objects written through the
/// API, merged into one catalog. Files own their objects: the API cannot write or delete a name a file
/// defines, and a file that comes to define a name the API wrote takes it over.
///
/// Writers (the folder watcher, API requests) take its lock; the query path never does: it reads the
/// snapshot built from what this hands on.
public final class LiveRegistry: Sendable {
    /// Why a write through the API was not done.
    public enum WriteError: Error, Hashable, Sendable {
        /// The object is defined in a file of `zones/`.
        case ownedByFile(kind: String, key: ObjectKey)
        /// The object (an EndpointSlice or Endpoints) would add endpoints to a Service defined in a file of
        /// `zones/`: files own their Services' endpoints too.
        case serviceOwnedByFile(kind: String, key: ObjectKey, service: ObjectKey)
        case notFound(kind: String, key: ObjectKey)
        /// The store could not make the write durable; nothing changed.
        case store(String)
        /// The write named a `resourceVersion` that is no longer the object's: someone wrote it since.
        case conflict(kind: String, key: ObjectKey)
        /// The shared store (etcd) cannot be reached; nothing changed.
        case unavailable(String)
    }

    private struct APIObject: Sendable {
        var object: ManifestObject
        var stored: StoredObject
    }

    private struct State: Sendable {
        var folder: FolderContents
        var api: [String: APIObject] = [:]  // by "Kind ns/name"
        /// The folder's objects with the API's: kept in step by each write, re-merged on a folder reading.
        var merged = Catalog()
        /// The number of the last change handed on (0: none yet).
        var sequence: UInt64 = 0
        /// Objects this replica is writing to the shared store now: their change may come back through the
        /// watch before the write returns, and is this replica's API write all the same.
        var writing: [String: Int] = [:]

        /// The next change: numbered here, under the lock, so that its number orders it among all others
        /// whatever order the writers hand their changes on in after releasing the lock.
        mutating func nextChange(_ changedServices: Set<ObjectKey>?, from source: ChangeOrigin.Source) -> RegistryChange {
            sequence += 1
            return RegistryChange(
                sequence: sequence, catalog: merged, zones: folder.zones, changedServices: changedServices,
                origin: ChangeOrigin(source)
            )
        }
    }

    /// What the registry hands on after each change, outside its lock: changes of concurrent writers may
    /// arrive in any order, and the receiver keeps the newest by `RegistryChange.sequence`.
    public typealias ChangeHandler = @Sendable (RegistryChange) -> Void

    private let state: Locked<State>
    private let store: ObjectStore?
    /// The store several replicas share, when there is one: writes go there, and come back to every
    /// replica (this one included) through `EtcdFollower`.
    public let shared: EtcdStore?
    private let onChange: ChangeHandler

    /// Loads every object the store holds. A stored object that does not read as a valid manifest (written by
    /// an older version with looser rules, or damaged) is logged and left out, as the etcd follower leaves
    /// one out: refusing to start over it would turn one bad write into a crash loop. A store that cannot be
    /// read at all stops startup with a `StoreError`.
    public init(
        store: ObjectStore?, shared: EtcdStore? = nil, folder: FolderContents,
        logger: Logger = Logger(label: "svcdns.registry"), onChange: @escaping ChangeHandler
    ) throws(StoreError) {
        self.shared = shared
        var state = State(folder: folder)
        if let store {
            let stored: [StoredObject]
            do {
                stored = try store.all()
            } catch {
                throw StoreError(path: store.path, reason: "cannot be read: \(error)")
            }
            for item in stored {
                guard let object = Self.decode(item) else {
                    logger.error(
                        "stored object is not a valid manifest: left out",
                        metadata: [
                            "store.path": "\(store.path)", "object": "\(item.kind) \(item.namespace)/\(item.name)",
                            "error": "\(Self.problems(of: item))",
                        ]
                    )
                    continue
                }
                state.api[Self.identity(item.kind, object.key)] = APIObject(object: object, stored: item)
            }
        }
        state.merged = Self.merge(state).0
        self.state = Locked(state)
        self.store = store
        self.onChange = onChange
    }

    static func identity(_ kind: String, _ key: ObjectKey) -> String { "\(kind) \(key)" }

    /// The merged catalog and zones now, numbered as the last change handed on (nil `changedServices`).
    public var current: RegistryChange {
        state.withLock {
            RegistryChange(sequence: $0.sequence, catalog: $0.merged, zones: $0.folder.zones, changedServices: nil)
        }
    }

    /// Takes a new reading of the folder and hands the merged registry on.
    /// When the reading says which objects changed, only those are merged again, and the change names
    /// the Services they touch.
    public func replaceFolder(_ contents: FolderContents) {
        let change = state.withLock { state -> RegistryChange in
            let zonesChanged = state.folder.zones != contents.zones
            state.folder = contents
            guard let changedObjects = contents.changedObjects, !zonesChanged else {
                state.merged = Self.merge(state).0
                return state.nextChange(nil, from: .file)
            }
            var affected: Set<ObjectKey> = []
            // A Service a file comes to define takes its endpoints from the files alone; one it stops defining
            // gets the API's again: those API objects change with it.
            var identities = changedObjects
            let fileServices = Set(changedObjects.filter { $0.kind == "Service" }.map(\.key))
            if !fileServices.isEmpty {
                for item in state.api.values {
                    if let service = Self.serviceKey(of: item.object), fileServices.contains(service) {
                        identities.insert(ObjectIdentity(item.object))
                    }
                }
            }
            for identity in identities {
                // A file's object wins over the API's; an API object a file stops defining is served again.
                let apiObject = (state.api[Self.identity(identity.kind, identity.key)]?.object).flatMap { object in
                    Self.fileService(of: object, contents.catalog) == nil ? object : nil
                }
                let winner = contents.catalog.object(identity) ?? apiObject
                if let old = state.merged.object(identity) {
                    affected.formUnion(state.merged.servicesAffected(by: old))
                    state.merged.remove(old)
                }
                if let winner {
                    affected.formUnion(state.merged.servicesAffected(by: winner))
                    state.merged.insert(winner)
                }
            }
            return state.nextChange(affected, from: .file)
        }
        onChange(change)
    }

    /// Creates or replaces an API object, durably, then hands the registry on. Returns what was stored
    /// and whether it was new.
    /// With `ifRevision`, only while the object's revision is still that (0: only while it does not exist),
    /// checked under the same lock as the write.
    public func put(
        _ object: ManifestObject, json: String, ifRevision: Int64? = nil
    ) throws(WriteError) -> (stored: StoredObject, created: Bool) {
        let identity = Self.identity(object.kind, object.key)
        let result = try state.withLock { state throws(WriteError) -> (StoredObject, Bool, RegistryChange) in
            guard !Self.folderDefines(object.kind, object.key, state.folder.catalog) else {
                throw .ownedByFile(kind: object.kind, key: object.key)
            }
            if let service = Self.fileService(of: object, state.folder.catalog) {
                throw .serviceOwnedByFile(kind: object.kind, key: object.key, service: service)
            }
            if let ifRevision, (state.api[identity]?.stored.revision ?? 0) != ifRevision {
                throw .conflict(kind: object.kind, key: object.key)
            }
            var stored = StoredObject(kind: object.kind, namespace: object.key.namespace, name: object.key.name, json: json, revision: 0)
            if let store {
                do {
                    stored.revision = try store.put(kind: object.kind, namespace: object.key.namespace, name: object.key.name, json: json)
                } catch {
                    throw .store("\(error)")
                }
            }
            let created = state.api[identity] == nil
            state.api[identity] = APIObject(object: object, stored: stored)
            let affected = state.merged.servicesAffected(by: object)
            state.merged.insert(object)
            return (stored, created, state.nextChange(affected, from: .api))
        }
        onChange(result.2)
        return (result.0, result.1)
    }

    /// Deletes an API object, durably, then hands the registry on. Returns what was deleted.
    @discardableResult
    public func delete(kind: String, key: ObjectKey, ifRevision: Int64? = nil) throws(WriteError) -> StoredObject {
        let identity = Self.identity(kind, key)
        let result = try state.withLock { state throws(WriteError) -> (StoredObject, RegistryChange) in
            guard let existing = state.api[identity] else {
                if Self.folderDefines(kind, key, state.folder.catalog) { throw .ownedByFile(kind: kind, key: key) }
                throw .notFound(kind: kind, key: key)
            }
            if let ifRevision, existing.stored.revision != ifRevision { throw .conflict(kind: kind, key: key) }
            if let store {
                do {
                    try store.delete(kind: kind, namespace: key.namespace, name: key.name)
                } catch {
                    throw .store("\(error)")
                }
            }
            state.api[identity] = nil
            // A file that came to define the same name since has taken it over: that one stays.
            var affected: Set<ObjectKey> = []
            if !Self.folderDefines(kind, key, state.folder.catalog) {
                affected = state.merged.servicesAffected(by: existing.object)
                state.merged.remove(existing.object)
            }
            return (existing.stored, state.nextChange(affected, from: .api))
        }
        onChange(result.1)
        return result.0
    }

    /// Replaces every API object with a fresh listing of the shared store (etcd), as a replica does when it
    /// starts following it or after its watch fell behind compacted history. Returns the listed objects
    /// that are not valid manifests, which are left out.
    @discardableResult
    public func replaceAPIObjects(_ listing: [StoredObject]) -> [StoredObject] {
        var invalid: [StoredObject] = []
        let change = state.withLock { state -> RegistryChange in
            state.api = [:]
            for item in listing {
                guard let object = Self.decode(item) else {
                    invalid.append(item)
                    continue
                }
                state.api[Self.identity(item.kind, object.key)] = APIObject(object: object, stored: item)
            }
            state.merged = Self.merge(state).0
            return state.nextChange(nil, from: .etcd)
        }
        onChange(change)
        return invalid
    }

    /// Applies one change of the shared store: `stored` written (by any replica, this one included), or the
    /// object of that kind and key deleted when `stored` is nil. A change at or below the revision already
    /// held is old news (a replica sees its own writes again through its watch) and is skipped. Returns
    /// false when `stored` is not a valid manifest.
    @discardableResult
    public func applyShared(
        kind: String, key: ObjectKey, stored: StoredObject?, revision: Int64, source: ChangeOrigin.Source = .etcd
    ) -> Bool {
        let identity = Self.identity(kind, key)
        var decoded: ManifestObject? = nil
        if let stored {
            guard let object = Self.decode(stored) else { return false }
            decoded = object
        }
        let change = state.withLock { state -> RegistryChange? in
            if let held = state.api[identity], held.stored.revision >= revision { return nil }
            if stored == nil && state.api[identity] == nil { return nil }
            let source = state.writing[identity] == nil ? source : .api
            var affected: Set<ObjectKey> = []
            let fileDefines = Self.folderDefines(kind, key, state.folder.catalog)
            if let old = state.api[identity], !fileDefines {
                affected.formUnion(state.merged.servicesAffected(by: old.object))
                state.merged.remove(old.object)
            }
            if let decoded, let stored {
                state.api[identity] = APIObject(object: decoded, stored: stored)
                // Another replica's files may differ: here, a Service of a file keeps its own endpoints only.
                if !fileDefines && Self.fileService(of: decoded, state.folder.catalog) == nil {
                    affected.formUnion(state.merged.servicesAffected(by: decoded))
                    state.merged.insert(decoded)
                }
            } else {
                state.api[identity] = nil
            }
            return state.nextChange(affected, from: source)
        }
        if let change { onChange(change) }
        return true
    }

    /// Why `decode` rejects a stored object, for the log line that says it is left out.
    public static func problems(of item: StoredObject) -> String {
        let decoded = ManifestDecoder.decode(item.json, file: "store")
        guard decoded.problems.isEmpty else { return decoded.problems.map(\.description).joined(separator: "; ") }
        return "not one \(item.kind) \(item.namespace)/\(item.name)"
    }

    /// A stored object as a manifest object: nil unless it is one valid object of the kind and key stored.
    /// Every stored object (at startup, in an etcd listing or watch) passes here, so an object that today's
    /// rules reject is skipped by each path alike, never decoded half-way.
    private static func decode(_ item: StoredObject) -> ManifestObject? {
        let decoded = ManifestDecoder.decode(item.json, file: "store")
        guard decoded.problems.isEmpty, decoded.objects.count == 1, let object = decoded.objects.first,
            object.kind == item.kind, object.key == ObjectKey(namespace: item.namespace, name: item.name)
        else { return nil }
        return object
    }

    /// Creates or replaces an API object, in the shared store when there is one, else as `put` does.
    /// With `ifRevision`, only while the object's `resourceVersion` is still that (0: only while it does not
    /// exist), as the Kubernetes API does; else `.conflict`.
    public func write(
        _ object: ManifestObject, json: String, ifRevision: Int64? = nil
    ) async throws(WriteError) -> (stored: StoredObject, created: Bool) {
        guard let shared else {
            return try put(object, json: json, ifRevision: ifRevision)
        }
        if isOwnedByFile(kind: object.kind, key: object.key) { throw .ownedByFile(kind: object.kind, key: object.key) }
        if let service = state.withLock({ Self.fileService(of: object, $0.folder.catalog) }) {
            throw .serviceOwnedByFile(kind: object.kind, key: object.key, service: service)
        }
        let created = get(kind: object.kind, key: object.key) == nil
        let identity = beginWriting(object.kind, object.key)
        defer { endWriting(identity) }
        let revision: Int64?
        do {
            revision = try await shared.put(kind: object.kind, key: object.key, json: json, ifRevision: ifRevision)
        } catch {
            throw .unavailable("\(error)")
        }
        guard let revision else { throw .conflict(kind: object.kind, key: object.key) }
        let stored = StoredObject(kind: object.kind, namespace: object.key.namespace, name: object.key.name, json: json, revision: revision)
        // Served here at once; the watch brings the same revision back, and it is skipped then.
        applyShared(kind: object.kind, key: object.key, stored: stored, revision: revision, source: .api)
        return (stored, created)
    }

    private func beginWriting(_ kind: String, _ key: ObjectKey) -> String {
        let identity = Self.identity(kind, key)
        state.withLock { $0.writing[identity, default: 0] += 1 }
        return identity
    }

    private func endWriting(_ identity: String) {
        state.withLock { state in
            if let count = state.writing[identity], count > 1 {
                state.writing[identity] = count - 1
            } else {
                state.writing[identity] = nil
            }
        }
    }

    /// Deletes an API object, from the shared store when there is one, else as `delete` does; with
    /// `ifRevision` as for `write`.
    @discardableResult
    public func remove(kind: String, key: ObjectKey, ifRevision: Int64? = nil) async throws(WriteError) -> StoredObject {
        guard let shared else {
            return try delete(kind: kind, key: key, ifRevision: ifRevision)
        }
        guard let existing = get(kind: kind, key: key) else {
            if isOwnedByFile(kind: kind, key: key) { throw .ownedByFile(kind: kind, key: key) }
            throw .notFound(kind: kind, key: key)
        }
        let identity = beginWriting(kind, key)
        defer { endWriting(identity) }
        let revision: Int64?
        do {
            revision = try await shared.delete(kind: kind, key: key, ifRevision: ifRevision)
        } catch {
            throw .unavailable("\(error)")
        }
        guard let revision else {
            if ifRevision != nil { throw .conflict(kind: kind, key: key) }
            throw .notFound(kind: kind, key: key)
        }
        applyShared(kind: kind, key: key, stored: nil, revision: revision, source: .api)
        return existing
    }

    /// One API object as stored, or nil.
    public func get(kind: String, key: ObjectKey) -> StoredObject? {
        state.withLock { $0.api[Self.identity(kind, key)]?.stored }
    }

    /// The API objects of a kind, optionally of one namespace, ordered by namespace and name.
    public func list(kind: String, namespace: String? = nil) -> [StoredObject] {
        state.withLock { state in
            state.api.values.map(\.stored)
                .filter { $0.kind == kind && (namespace == nil || $0.namespace == namespace) }
                .sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        }
    }

    /// True when a file of the folder defines that object.
    public func isOwnedByFile(kind: String, key: ObjectKey) -> Bool {
        state.withLock { Self.folderDefines(kind, key, $0.folder.catalog) }
    }

    /// The Service of `catalog` (the folder's) that `object` would add endpoints to, if there is one.
    private static func fileService(of object: ManifestObject, _ catalog: Catalog) -> ObjectKey? {
        guard let service = serviceKey(of: object), catalog.services[service] != nil else { return nil }
        return service
    }

    /// The Service an EndpointSlice (by its `kubernetes.io/service-name` label) or Endpoints (by its name)
    /// belongs to; nil for a Service, or a slice that names none.
    private static func serviceKey(of object: ManifestObject) -> ObjectKey? {
        switch object {
        case .service: nil
        case .endpointSlice(let slice): slice.serviceName.map { ObjectKey(namespace: slice.key.namespace, name: $0) }
        case .endpoints(let endpoints): endpoints.key
        }
    }

    private static func folderDefines(_ kind: String, _ key: ObjectKey, _ catalog: Catalog) -> Bool {
        switch kind {
        case "Service": catalog.services[key] != nil
        case "EndpointSlice": catalog.endpointSlices[key] != nil
        case "Endpoints": catalog.endpoints[key] != nil
        default: false
        }
    }

    /// The folder's catalog with every API object whose name no file defines.
    private static func merge(_ state: State) -> (Catalog, [ZoneFileContents]) {
        var catalog = state.folder.catalog
        for (_, item) in state.api.sorted(by: { $0.key < $1.key })
        where !folderDefines(item.object.kind, item.object.key, state.folder.catalog)
            && fileService(of: item.object, state.folder.catalog) == nil
        {
            catalog.insert(item.object)
        }
        return (catalog, state.folder.zones)
    }
}
