import Foundation
import Hummingbird
import NIOCore
import Registry
import ServiceModel

/// Kubernetes-shaped CRUD for one kind, on the paths kubectl and client libraries use:
/// `PUT|GET|DELETE <base>/namespaces/{ns}/<plural>/{name}` and `GET <base>/<plural>` (`?namespace=`).
struct ObjectRoutes: Sendable {
    let kind: String
    let apiVersion: String
    let base: String
    let plural: String
    let registry: LiveRegistry
    let writeAccess: WriteAccess

    /// Bodies over this get 413: a manifest of one object is a few kilobytes.
    static let maxBody = 1 << 20

    func add(to router: Router<APIRequestContext>) {
        let item = "\(base)/namespaces/:namespace/\(plural)/:name"
        router.put(RouterPath(item)) { request, context in try await self.put(request, context) }
        router.get(RouterPath(item)) { request, context in writeAccess.checkRead(request) ?? self.get(context) }
        router.delete(RouterPath(item)) { request, context in await self.delete(request, context) }
        router.get(RouterPath("\(base)/\(plural)")) { request, _ in writeAccess.checkRead(request) ?? self.list(request) }
    }

    private func key(_ context: APIRequestContext) -> ObjectKey {
        ObjectKey(namespace: context.parameters.get("namespace") ?? "", name: context.parameters.get("name") ?? "")
    }

    private func put(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        if let denied = writeAccess.check(request, context) { return denied }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBody)
        } catch {
            return StatusError(status: .contentTooLarge, reason: "RequestEntityTooLarge", message: "the body is over 1 MiB").response
        }
        let key = key(context)
        do {
            let write = try ObjectBody(Data(buffer: body), kind: kind, key: key)
            let (stored, created) = try await registry.write(write.object, json: write.json, ifRevision: write.precondition)
            return Self.objectResponse(stored, status: created ? .created : .ok)
        } catch let error as StatusError {
            return error.response
        } catch let error as LiveRegistry.WriteError {
            return Self.response(for: error)
        }
    }

    private func get(_ context: APIRequestContext) -> Response {
        let key = key(context)
        guard let stored = registry.get(kind: kind, key: key) else {
            return StatusError.notFound(Self.notFoundMessage(kind, key, registry)).response
        }
        return Self.objectResponse(stored, status: .ok)
    }

    private func delete(_ request: Request, _ context: APIRequestContext) async -> Response {
        if let denied = writeAccess.check(request, context) { return denied }
        let key = key(context)
        do {
            // DeleteOptions may carry `preconditions.resourceVersion`, as for the Kubernetes API.
            let body = (try? await request.body.collect(upTo: Self.maxBody)).map { Data(buffer: $0) } ?? Data()
            let options = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
            let precondition = ((options?["preconditions"] as? [String: Any])?["resourceVersion"] as? String).flatMap { Int64($0) }
            try await registry.remove(kind: kind, key: key, ifRevision: precondition)
            return StatusError.statusResponse(status: .ok, success: true, reason: "", message: "\(kind) \(key) deleted")
        } catch {
            return Self.response(for: error)
        }
    }

    private func list(_ request: Request) -> Response {
        let namespace = request.uri.queryParameters.get("namespace")
        let items = registry.list(kind: kind, namespace: namespace).compactMap { Self.objectJSON($0) }
        let list: [String: Any] = ["kind": "\(kind)List", "apiVersion": apiVersion, "metadata": [String: Any](), "items": items]
        let data = (try? JSONSerialization.data(withJSONObject: list, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The stored JSON with `metadata.resourceVersion` set to the revision of its last write.
    static func objectJSON(_ stored: StoredObject) -> [String: Any]? {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(stored.json.utf8))) as? [String: Any] else { return nil }
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        metadata["resourceVersion"] = String(stored.revision)
        object["metadata"] = metadata
        return object
    }

    static func objectResponse(_ stored: StoredObject, status: HTTPResponse.Status) -> Response {
        let object = objectJSON(stored) ?? [:]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func notFoundMessage(_ kind: String, _ key: ObjectKey, _ registry: LiveRegistry) -> String {
        registry.isOwnedByFile(kind: kind, key: key)
            ? "\(kind) \(key) is defined in a file in zones/, not through the API"
            : "\(kind) \(key) not found"
    }

    static func response(for error: LiveRegistry.WriteError) -> Response {
        switch error {
        case .ownedByFile(let kind, let key):
            return StatusError.conflict("\(kind) \(key) is defined in a file in zones/; change it there").response
        case .serviceOwnedByFile(let kind, let key, let service):
            return StatusError.conflict(
                "\(kind) \(key) belongs to Service \(service), which is defined in a file in zones/; its endpoints are set there"
            ).response
        case .notFound(let kind, let key):
            return StatusError.notFound("\(kind) \(key) not found").response
        case .store(let reason):
            return StatusError(status: .internalServerError, reason: "InternalError", message: "the store failed: \(reason)").response
        case .conflict(let kind, let key):
            // The Kubernetes API server's words for a stale resourceVersion.
            return StatusError.conflict(
                "Operation cannot be fulfilled on \(kind) \(key): the object has been modified; "
                    + "please apply your changes to the latest version and try again"
            ).response
        case .unavailable(let reason):
            return StatusError(status: .serviceUnavailable, reason: "ServiceUnavailable", message: "etcd cannot be reached: \(reason)")
                .response
        }
    }
}
