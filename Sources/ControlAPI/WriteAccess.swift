import Hummingbird
import NIOCore

/// Who may write: with a token, whoever sends `Authorization: Bearer <token>` (compared in constant time,
/// so its length and contents do not leak through timing); without one, loopback clients only.
struct WriteAccess: Sendable {
    let token: String?

    /// Nil when the request may write; else the response that refuses it.
    func check(_ request: Request, _ context: APIRequestContext) -> Response? {
        if let token {
            let header = request.headers[.authorization] ?? ""
            guard Self.constantTimeEqual(Array(header.utf8), Array("Bearer \(token)".utf8)) else {
                return StatusError(status: .unauthorized, reason: "Unauthorized", message: "writes need Authorization: Bearer <token>")
                    .response
            }
            return nil
        }
        guard Self.isLoopback(context.remoteAddress) else {
            return StatusError(
                status: .forbidden, reason: "Forbidden", message: "without --api-token, writes are accepted only from loopback clients"
            ).response
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
