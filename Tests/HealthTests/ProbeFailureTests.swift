// ProbeFailureTests: how durations and errors read in failure reasons.

import Glibc
import Testing

@testable import Health

@Suite("Probe failure reasons")
struct ProbeFailureTests {
    @Test(arguments: [
        (Duration.seconds(1), "1s"), (.milliseconds(100), "100ms"), (.milliseconds(1500), "1500ms"),
        (.seconds(120), "120s"),
    ])
    func durationText(_ duration: Duration, _ text: String) {
        #expect(ProbeFailure.text(of: duration) == text)
    }

    @Test(arguments: [
        (ECONNREFUSED, "connection refused"), (ECONNRESET, "connection reset"), (ETIMEDOUT, "timed out after 1s"),
        (EHOSTUNREACH, "host unreachable"), (ENETUNREACH, "network unreachable"), (EMFILE, "too many open files"),
    ])
    func errorNumbersReadAsShortReasons(_ code: Int32, _ reason: String) {
        #expect(ProbeFailure.reason(errno: code, timeout: .seconds(1)) == reason)
    }

    /// The status line alone decides an HTTP probe; anything that is not an HTTP/1 status line is a failure.
    @Test(arguments: [
        ("HTTP/1.1 200 OK\r", ProbeResult.healthy), ("HTTP/1.0 204 No Content", .healthy),
        ("HTTP/1.1 302 Found\r", .healthy), ("HTTP/1.1 399", .healthy),
        ("HTTP/1.1 400 Bad Request\r", .unhealthy(reason: "HTTP 400")),
        ("HTTP/1.1 503 Service Unavailable\r", .unhealthy(reason: "HTTP 503")),
        ("HTTP/1.1 199 Early\r", .unhealthy(reason: "HTTP 199")),
        ("HTTP/2 200\r", .unhealthy(reason: "bad HTTP response: not an HTTP/1 status line")),
        ("HTTP/1.1 20 OK\r", .unhealthy(reason: "bad HTTP response: not an HTTP/1 status line")),
        ("HTTP/1.1 2000 OK\r", .unhealthy(reason: "bad HTTP response: not an HTTP/1 status line")),
        ("SSH-2.0-OpenSSH_9.2\r", .unhealthy(reason: "bad HTTP response: not an HTTP/1 status line")),
        ("", .unhealthy(reason: "bad HTTP response: not an HTTP/1 status line")),
    ])
    func statusLine(_ line: String, _ result: ProbeResult) {
        #expect(ProbeConnection.result(ofStatusLine: Array(line.utf8)[...]) == result)
    }

    @Test func ipv6HostHeaderIsBracketed() {
        let target = ProbeTarget(
            endpoint: Fixture.id("v6", "10.0.0.1"), port: 8080, kind: .http(path: "/"), interval: .seconds(1),
            timeout: .seconds(1), fall: 1, rise: 1
        )
        var v6 = target
        v6.endpoint.address = .v6(0, 1)
        #expect(ProbeConnection.hostHeader(target) == "10.0.0.1:8080")
        #expect(ProbeConnection.hostHeader(v6) == "[::1]:8080")
    }
}
