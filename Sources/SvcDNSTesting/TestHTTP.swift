import Foundation

/// A plain HTTP/1.1 client for tests: one request per connection, `Connection: close`.
public enum TestHTTP {
    public struct Reply: Sendable {
        public var status: Int
        public var body: String
    }

    public static func request(
        _ method: String, _ path: String, port: Int, body: String? = nil, headers: [String: String] = [:], timeout: Double = 5
    ) throws -> Reply {
        let connection = try TestClient.TCPConnection(port: port, timeout: timeout)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((body ?? "").utf8)
        if body != nil { head += "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n" }
        try connection.send(Array((head + "\r\n").utf8) + bytes)
        let text = String(decoding: connection.receiveAll(), as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n").first, statusLine.split(separator: " ").count >= 2,
            let status = Int(statusLine.split(separator: " ")[1])
        else { throw TestFailure(description: "no HTTP response to \(method) \(path): \(text)") }
        let parts = text.components(separatedBy: "\r\n\r\n")
        return Reply(status: status, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}
