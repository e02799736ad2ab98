import Foundation
import Hummingbird

/// An API error as Kubernetes shows one: a `Status` object whose message names the object and the field.
struct StatusError: Error, Sendable {
    var status: HTTPResponse.Status
    var reason: String
    var message: String

    static func badRequest(_ message: String) -> StatusError { StatusError(status: .badRequest, reason: "BadRequest", message: message) }
    static func notFound(_ message: String) -> StatusError { StatusError(status: .notFound, reason: "NotFound", message: message) }
    static func conflict(_ message: String) -> StatusError { StatusError(status: .conflict, reason: "Conflict", message: message) }

    var response: Response {
        StatusError.statusResponse(status: status, success: false, reason: reason, message: message)
    }

    /// `{"kind":"Status","apiVersion":"v1","metadata":{},"status":…,"message":…,"reason":…,"code":…}`
    static func statusResponse(status: HTTPResponse.Status, success: Bool, reason: String, message: String) -> Response {
        let object: [String: Any] = [
            "kind": "Status", "apiVersion": "v1", "metadata": [String: Any](), "status": success ? "Success" : "Failure",
            "message": message, "reason": reason, "code": status.code,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
