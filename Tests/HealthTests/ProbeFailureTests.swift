// ProbeFailureTests: how durations and errors read in failure reasons.

import NIOCore
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

    @Test func connectTimeoutReadsAsTimedOut() {
        let reason = ProbeFailure.reason(for: ChannelError.connectTimeout(.seconds(1)), timeout: .seconds(1))
        #expect(reason == "timed out after 1s")
    }

    @Test func ipv6HostHeaderIsBracketed() {
        let target = ProbeTarget(
            endpoint: Fixture.id("v6", "10.0.0.1"), port: 8080, kind: .http(path: "/"), interval: .seconds(1),
            timeout: .seconds(1), fall: 1, rise: 1
        )
        var v6 = target
        v6.endpoint.address = .v6(0, 1)
        #expect(HTTPProber.hostHeader(target) == "10.0.0.1:8080")
        #expect(HTTPProber.hostHeader(v6) == "[::1]:8080")
    }
}
