import Foundation
import ServiceModel

/// A PUT body read into what is written: the object, its JSON as stored, and the revision the writer last
/// saw. The stage of a write between the HTTP request and the registry, on its own so that it can be
/// driven without a server (the api-body fuzz target).
package struct ObjectBody: Sendable {
    package var object: ManifestObject
    /// The body normalised: keys sorted, the path's name and namespace in, no resourceVersion.
    package var json: String
    /// `metadata.resourceVersion` when the body has one: write only while the object is still at it.
    package var precondition: Int64?

    /// Reads `data` as one object of `kind` at `key`; a body that is not is a `StatusError` (400) naming the
    /// object, the field and the reason.
    package init(_ data: Data, kind: String, key: ObjectKey) throws {
        // Parsed once: a 1 MiB body costs its size several times over in Foundation objects.
        guard let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw StatusError.badRequest("the body is not a JSON object")
        }
        precondition = try Self.resourceVersion(in: body)
        json = try Self.normalise(body, kind: kind, key: key)
        let decoded = ManifestDecoder.decode(json, file: "request")
        if let problem = decoded.problems.first {
            // The file part says nothing for a request: the object, the field and the reason do.
            let message = [problem.object, problem.field, problem.reason].compactMap { $0 }.joined(separator: ": ")
            throw StatusError.badRequest(message)
        }
        // A `List` passes the checks above on its own metadata, and its item would be written under a name of
        // its own: only the object the path names is taken.
        guard decoded.objects.count == 1, let object = decoded.objects.first, object.kind == kind, object.key == key else {
            throw StatusError.badRequest("the body is not one \(kind) \(key)")
        }
        self.object = object
    }

    /// `metadata.resourceVersion` of a request body: the revision the writer last saw, if it says.
    private static func resourceVersion(in object: [String: Any]) throws -> Int64? {
        guard let version = (object["metadata"] as? [String: Any])?["resourceVersion"] else { return nil }
        guard let text = version as? String, let revision = Int64(text), revision >= 0 else {
            throw StatusError.badRequest("metadata.resourceVersion: \"\(version)\" is not a resourceVersion")
        }
        return revision
    }

    /// The body as JSON with the path's namespace filled in where the body leaves it out (as the API
    /// server does); a name or namespace that differs from the path is a bad request.
    private static func normalise(_ body: [String: Any], kind: String, key: ObjectKey) throws -> String {
        var object = body
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        if let name = metadata["name"] as? String, name != key.name {
            throw StatusError.badRequest("\(kind) \(key): metadata.name: \"\(name)\" differs from the name in the path")
        }
        if let namespace = metadata["namespace"] as? String, namespace != key.namespace {
            throw StatusError.badRequest("\(kind) \(key): metadata.namespace: \"\(namespace)\" differs from the namespace in the path")
        }
        metadata["name"] = key.name
        metadata["namespace"] = key.namespace
        metadata["resourceVersion"] = nil
        object["metadata"] = metadata
        let normalised = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: normalised, as: UTF8.self)
    }
}
