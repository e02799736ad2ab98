import Hummingbird
import NIOCore

/// Who may write and read: with a token, whoever sends `Authorization: Bearer <token>` (compared in
/// constant time, so its length and contents do not leak through timing), for writes, object reads and
/// `/status`; without one, loopback clients may write and anyone may read.
struct WriteAccess: Sendable {
    let token: String?

    /// Nil when the request may write; else the response that refuses it.
    func check(_ request: Request, _ context: APIRequestContext) -> Response? {
        if let token {
            return Self.bearerProblem(request, token: token, what: "writes")
        }
        guard Self.isLoopback(context.remoteAddress) else {
            return StatusError(
                status: .forbidden, reason: "Forbidden", message: "without --api-token, writes are accepted only from loopback clients"
            ).response
        }
        return nil
    }

    /// Nil when the request may read objects or health status; else the response that refuses it. The token,
    /// when there is one, guards reads too: the objects name every address and port behind the Services.
    func checkRead(_ request: Request) -> Response? {
        guard let token else { return nil }
        return Self.bearerProblem(request, token: token, what: "reads")
    }

    private static func bearerProblem(_ request: Request, token: String, what: String) -> Response? {
        let header = request.headers[.authorization] ?? ""
        guard constantTimeEqual(Array(header.utf8), Array("Bearer \(token)".utf8)) else {
            return StatusError(status: .unauthorized, reason: "Unauthorized", message: "\(what) need Authorization: Bearer <token>")
                .response
        }
        return nil
    }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }

    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let ip = address?.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }
}
