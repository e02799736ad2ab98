// fuzz-api-body: a PUT body through the API's write stage (JSON → normalised object, resourceVersion) into a
// registry with a durable store beside files that own some names. Writes to a file's names must be refused,
// a stale resourceVersion must conflict, and what is stored must read back as the object written.
import ControlAPI
import Foundation
import FuzzSupport
import Registry
import ServiceModel

private let kinds = ["Service", "EndpointSlice", "Endpoints"]
private let keys = [
    ObjectKey(namespace: "files", name: "owned"), ObjectKey(namespace: "files", name: "owned-abc"),
    ObjectKey(namespace: "files", name: "free"), ObjectKey(namespace: "api", name: "web"),
]

/// The folder's objects: a Service with an EndpointSlice and Endpoints, all owned by the file.
private let folder: FolderContents = {
    let text = """
        apiVersion: v1
        kind: Service
        metadata: {name: owned, namespace: files}
        spec: {clusterIP: 10.98.0.1, ports: [{name: http, port: 80}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: owned-abc, namespace: files, labels: {kubernetes.io/service-name: owned}}
        addressType: IPv4
        endpoints: [{addresses: [127.0.3.1]}]
        ports: [{name: http, port: 80}]
        ---
        apiVersion: v1
        kind: Endpoints
        metadata: {name: owned, namespace: files}
        subsets: [{addresses: [{ip: 127.0.3.1}], ports: [{port: 80}]}]
        """
    let decoded = ManifestDecoder.decode(text, file: "files.yaml")
    require(decoded.problems.isEmpty, "the folder fixture has problems: \(decoded.problems)")
    var catalog = Catalog()
    for object in decoded.objects { catalog.insert(object) }
    return FolderContents(catalog: catalog, files: ["files.yaml"])
}()

/// A store in memory-backed storage, fresh for each run of the fuzzer.
private let registry: LiveRegistry = {
    let directory = "/dev/shm/svcdns-fuzz-api-body-\(getpid())"
    try? FileManager.default.removeItem(atPath: directory)
    atexit { try? FileManager.default.removeItem(atPath: "/dev/shm/svcdns-fuzz-api-body-\(getpid())") }
    let store = try! ObjectStore(directory: directory)
    return try! LiveRegistry(store: store, folder: folder, onChange: { _ in })
}()

private func fileDefines(_ kind: String, _ key: ObjectKey) -> Bool {
    folder.catalog.object(ObjectIdentity(kind: kind, key: key)) != nil
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAPIBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: size))
    let choice = Int(input.byte())
    let kind = kinds[choice % kinds.count]
    let key = keys[(choice / kinds.count) % keys.count]
    let deleting = choice >= 0xF0
    let body = Data(input.rest())
    let before = registry.get(kind: kind, key: key)

    if deleting {
        let ifRevision = body.first.map { Int64($0 % 4) }
        do {
            let deleted = try registry.delete(kind: kind, key: key, ifRevision: ifRevision)
            require(deleted == before, "deleted \(deleted), the registry held \(String(describing: before))")
            require(registry.get(kind: kind, key: key) == nil, "\(kind) \(key) is still there after its delete")
        } catch {
            switch error {
            case .ownedByFile: require(fileDefines(kind, key), "a delete of \(kind) \(key) was refused as a file's")
            case .notFound: require(before == nil, "\(kind) \(key) was there and its delete said not found")
            case .conflict: require(before != nil && ifRevision != before?.revision, "a delete conflicted at the right revision")
            default: require(false, "a delete failed: \(error)")
            }
        }
        return 0
    }

    guard let write = try? ObjectBody(body, kind: kind, key: key) else { return 0 }  // a 400
    require(write.object.kind == kind && write.object.key == key, "a \(kind) body at \(key) read as \(write.object)")
    do {
        let (stored, created) = try registry.put(write.object, json: write.json, ifRevision: write.precondition)
        require(!fileDefines(kind, key), "the API wrote \(kind) \(key), which a file defines")
        require(created == (before == nil), "created is \(created) for \(kind) \(key)")
        if let precondition = write.precondition {
            require(precondition == (before?.revision ?? 0), "written at resourceVersion \(precondition), not the current")
        }
        require(registry.get(kind: kind, key: key) == stored, "what is stored is not what the write returned")
        // What a GET returns, sent back as a PUT body, reads as the same object, and from then on as the same JSON.
        // (Not at once: Foundation on Linux writes a fraction longer than a Double's digits as it read it, a
        // Decimal, and the next read makes it a Double; the GET itself already shows the Double's digits.)
        let again = try? ObjectBody(Data(stored.json.utf8), kind: kind, key: key)
        require(again?.object == write.object, "the stored \(kind) \(key) does not read back")
        let thrice = again.flatMap { try? ObjectBody(Data($0.json.utf8), kind: kind, key: key) }
        require(thrice?.json == again?.json, "the stored \(kind) \(key) changes on every read and write")
    } catch {
        switch error {
        case .ownedByFile:
            require(fileDefines(kind, key), "a write of \(kind) \(key) was refused as a file's")
        case .serviceOwnedByFile(_, _, let service):
            require(fileDefines("Service", service), "a write was refused for \(service), which no file defines")
        case .conflict:
            require(write.precondition != nil && write.precondition != (before?.revision ?? 0), "a write conflicted at the right revision")
        default:
            require(false, "a write failed: \(error)")
        }
    }
    return 0
}
