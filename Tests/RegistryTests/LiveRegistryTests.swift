import DNSMessage
import Foundation
import Locking
import Registry
import ServiceModel
import Testing

/// Folder objects and API objects in one registry: files own their names, API writes are durable and
/// handed on at once, and a restart finds them again.
@Suite struct LiveRegistryTests {
    static func service(_ name: String, clusterIP: String, namespace: String = "default") -> (ManifestObject, String) {
        let json = #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"\#(name)","namespace":"\#(namespace)"},"spec":{"clusterIP":"\#(clusterIP)"}}"#
        let object = ManifestDecoder.decode(json, file: "request").objects[0]
        return (object, json)
    }

    static func folder(_ services: [(ManifestObject, String)]) -> FolderContents {
        var catalog = Catalog()
        for (object, _) in services { catalog.insert(object) }
        return FolderContents(catalog: catalog, zones: [], problems: [], warnings: [], files: [])
    }

    final class Changes: Sendable {
        let catalogs = Locked<[Catalog]>([])
        var last: Catalog? { catalogs.withLock { $0.last } }
        var count: Int { catalogs.withLock { $0.count } }
    }

    static func storeFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("svcdns-live-\(UUID().uuidString)").path
    }

    @Test func apiWritesAreStoredAndHandedOn() throws {
        let directory = Self.storeFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let changes = Changes()
        let registry = try LiveRegistry(store: try ObjectStore(directory: directory), folder: Self.folder([])) { change in
            changes.catalogs.withLock { $0.append(change.catalog) }
        }
        let (api, json) = Self.service("api", clusterIP: "10.96.0.11")
        let first = try registry.put(api, json: json)
        #expect(first.created)
        #expect(changes.last?.services[ObjectKey(namespace: "default", name: "api")]?.clusterIPs == [IPAddress("10.96.0.11")!])
        let (replacement, replacementJSON) = Self.service("api", clusterIP: "10.96.0.12")
        let second = try registry.put(replacement, json: replacementJSON)
        #expect(!second.created)
        #expect(second.stored.revision > first.stored.revision)
        #expect(registry.list(kind: "Service").map(\.json) == [replacementJSON])
        #expect(registry.list(kind: "Service", namespace: "other").isEmpty)

        // A restart finds what was written.
        let restarted = try LiveRegistry(store: try ObjectStore(directory: directory), folder: Self.folder([])) { _ in }
        #expect(restarted.current.catalog.services[ObjectKey(namespace: "default", name: "api")]?.clusterIPs == [IPAddress("10.96.0.12")!])
        try restarted.delete(kind: "Service", key: ObjectKey(namespace: "default", name: "api"))
        #expect(throws: LiveRegistry.WriteError.notFound(kind: "Service", key: ObjectKey(namespace: "default", name: "api"))) {
            try restarted.delete(kind: "Service", key: ObjectKey(namespace: "default", name: "api"))
        }
        #expect(try ObjectStore(directory: directory).all().isEmpty, "the delete is durable too")
    }

    @Test func filesOwnTheirNames() throws {
        let web = Self.service("web", clusterIP: "10.96.0.10")
        let registry = try LiveRegistry(store: nil, folder: Self.folder([web])) { _ in }
        let (attempt, json) = Self.service("web", clusterIP: "10.96.0.99")
        let key = ObjectKey(namespace: "default", name: "web")
        #expect(throws: LiveRegistry.WriteError.ownedByFile(kind: "Service", key: key)) { try registry.put(attempt, json: json) }
        #expect(throws: LiveRegistry.WriteError.ownedByFile(kind: "Service", key: key)) { try registry.delete(kind: "Service", key: key) }
        #expect(registry.current.catalog.services[key]?.clusterIPs == [IPAddress("10.96.0.10")!])
    }

    @Test func aFileThatComesToDefineANameTakesItOver() throws {
        let changes = Changes()
        let registry = try LiveRegistry(store: nil, folder: Self.folder([])) { change in
            changes.catalogs.withLock { $0.append(change.catalog) }
        }
        let (api, json) = Self.service("web", clusterIP: "10.96.0.50")
        _ = try registry.put(api, json: json)
        registry.replaceFolder(Self.folder([Self.service("web", clusterIP: "10.96.0.10")]))
        let key = ObjectKey(namespace: "default", name: "web")
        #expect(changes.last?.services[key]?.clusterIPs == [IPAddress("10.96.0.10")!])
        #expect(registry.isOwnedByFile(kind: "Service", key: key))
    }

    /// A reading that names its changed objects is merged object by object, and the change names the
    /// Services touched: a file taking an API object's name over, then giving it back.
    @Test func aReadingThatNamesItsChangesIsMergedObjectByObject() throws {
        final class Handed: Sendable {
            let changes = Locked<[(Catalog, Set<ObjectKey>?)]>([])
        }
        let handed = Handed()
        let db = Self.service("db", clusterIP: "10.96.0.5")
        let registry = try LiveRegistry(store: nil, folder: Self.folder([db])) { change in
            handed.changes.withLock { $0.append((change.catalog, change.changedServices)) }
        }
        let (api, json) = Self.service("web", clusterIP: "10.96.0.50")
        _ = try registry.put(api, json: json)
        let web = ObjectKey(namespace: "default", name: "web")
        let identity = ObjectIdentity(kind: "Service", key: web)

        var takeOver = Self.folder([db, Self.service("web", clusterIP: "10.96.0.10")])
        takeOver.changedObjects = [identity]
        registry.replaceFolder(takeOver)
        var last = handed.changes.withLock { $0.last }
        #expect(last?.0.services[web]?.clusterIPs == [IPAddress("10.96.0.10")!])
        #expect(last?.1 == [web])
        #expect(last?.0 == Self.folder([db, Self.service("web", clusterIP: "10.96.0.10")]).catalog)

        var giveBack = Self.folder([db])
        giveBack.changedObjects = [identity]
        registry.replaceFolder(giveBack)
        last = handed.changes.withLock { $0.last }
        #expect(last?.0.services[web]?.clusterIPs == [IPAddress("10.96.0.50")!], "the API's object is served again")
        #expect(last?.1 == [web])
        #expect(last?.0.counts.services == 2)
    }

    static func object(_ json: String) -> (ManifestObject, String) {
        (ManifestDecoder.decode(json, file: "request").objects[0], json)
    }

    static let webSlice = object(
        #"{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-1","namespace":"default","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.1"]}]}"#
    )
    static let webEndpoints = object(
        #"{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web","namespace":"default"},"subsets":[{"addresses":[{"ip":"10.1.0.2"}]}]}"#
    )

    /// Files own their Services' endpoints too: the API may not add an EndpointSlice or Endpoints to a Service
    /// a file defines, and those it added before a file came to define the Service leave with the takeover and
    /// come back when the file gives the Service up.
    @Test func filesOwnTheirServicesEndpoints() throws {
        let web = ObjectKey(namespace: "default", name: "web")
        let fileOwned = try LiveRegistry(store: nil, folder: Self.folder([Self.service("web", clusterIP: "None")])) { _ in }
        #expect(throws: LiveRegistry.WriteError.serviceOwnedByFile(kind: "EndpointSlice", key: ObjectKey(namespace: "default", name: "web-1"), service: web)) {
            try fileOwned.put(Self.webSlice.0, json: Self.webSlice.1)
        }
        #expect(throws: LiveRegistry.WriteError.serviceOwnedByFile(kind: "Endpoints", key: web, service: web)) {
            try fileOwned.put(Self.webEndpoints.0, json: Self.webEndpoints.1)
        }
        #expect(fileOwned.current.catalog.counts.endpointSlices == 0)
        #expect(fileOwned.current.catalog.counts.endpoints == 0)

        let registry = try LiveRegistry(store: nil, folder: Self.folder([])) { _ in }
        let (service, json) = Self.service("web", clusterIP: "None")
        _ = try registry.put(service, json: json)
        _ = try registry.put(Self.webSlice.0, json: Self.webSlice.1)
        _ = try registry.put(Self.webEndpoints.0, json: Self.webEndpoints.1)
        #expect(registry.current.catalog.endpointSlices(of: web).count == 1)

        var takeOver = Self.folder([Self.service("web", clusterIP: "None")])
        takeOver.changedObjects = [ObjectIdentity(kind: "Service", key: web)]
        registry.replaceFolder(takeOver)
        #expect(registry.current.catalog.endpointSlices(of: web).isEmpty, "the file's Service has no endpoints of the API")
        #expect(registry.current.catalog.counts.endpoints == 0)

        var giveBack = Self.folder([])
        giveBack.changedObjects = [ObjectIdentity(kind: "Service", key: web)]
        registry.replaceFolder(giveBack)
        #expect(registry.current.catalog.endpointSlices(of: web).count == 1)
        #expect(registry.current.catalog.counts.endpoints == 1)
        // A whole reading agrees.
        registry.replaceFolder(Self.folder([Self.service("web", clusterIP: "None")]))
        #expect(registry.current.catalog.counts.endpointSlices == 0)

        // From etcd (another replica, whose files differ): kept in the store's view, not attached here.
        let replica = try LiveRegistry(store: nil, folder: Self.folder([Self.service("web", clusterIP: "None")])) { _ in }
        let stored = StoredObject(kind: "EndpointSlice", namespace: "default", name: "web-1", json: Self.webSlice.1, revision: 5)
        #expect(replica.applyShared(kind: "EndpointSlice", key: ObjectKey(namespace: "default", name: "web-1"), stored: stored, revision: 5))
        #expect(replica.get(kind: "EndpointSlice", key: ObjectKey(namespace: "default", name: "web-1")) != nil)
        #expect(replica.current.catalog.endpointSlices(of: web).isEmpty)
    }

    /// A stored object that today's rules reject (written by an older version) is left out, not a reason to refuse
    /// to start: the store's other objects are served. (Refusing made one bad write a crash loop.)
    @Test func aStoredObjectThatNoLongerReadsIsLeftOutAndTheRestServed() throws {
        let directory = Self.storeFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ObjectStore(directory: directory)
        try store.put(kind: "Service", namespace: "default", name: "web", json: #"{"kind":"Service","metadata":{"name":"Not_Valid"}}"#)
        let (db, json) = Self.service("db", clusterIP: "10.96.0.20")
        try store.put(kind: "Service", namespace: "default", name: "db", json: json)
        let registry = try LiveRegistry(store: store, folder: Self.folder([])) { _ in }
        #expect(registry.current.catalog.services.keys.sorted() == [db.key])
        #expect(registry.get(kind: "Service", key: ObjectKey(namespace: "default", name: "web")) == nil)
    }
}
