// LoopbackProbingTests: the real TCP and HTTP probers against real listeners on 127/8, through the checker.

import InMemoryLogging
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceModel
import Testing

@testable import Health

@Suite("Probing loopback listeners")
struct LoopbackProbingTests {
    static let fast = HealthDefaults(interval: .milliseconds(100), timeout: .milliseconds(100), fall: 2, rise: 1)
    /// interval × fall + timeout, as the issue bounds it, plus room for a busy machine.
    static let downLimit: Duration = .milliseconds(100 * 2 + 100) + .seconds(2)
    /// The first probe runs at once, so an up endpoint is up well within this.
    static let upLimit: Duration = .seconds(1)

    @Test func tcpListenerUpThenDownThenUpAgain() async throws {
        let logs = InMemoryLogHandler()
        let logger = Logger(label: "svcdns.health", factory: { _ in logs })
        try await withChecker(defaults: Self.fast, logger: logger) { harness in
            let host = "127.0.21.1"
            let listener = try await openTCPListener(host: host, group: harness.serverGroup)
            let port = listener.localAddress!.port!
            let id = Fixture.id("tcp", host)
            harness.checker.update(
                catalog: Fixture.catalog([
                    Fixture.service("tcp", slices: [Fixture.slice([host], ports: [("app", port)])])
                ])
            )

            let upAfter = await eventually(within: Self.upLimit) { harness.changes.state(of: id) == .up }
            #expect(upAfter != nil, "up from the first probe")

            try await listener.close()
            let downAfter = await eventually(within: Self.downLimit) { harness.changes.state(of: id) == .down }
            #expect(downAfter != nil, "down after fall failures")
            #expect(harness.changes.transitions.last?.reason == "connection refused")

            let reopened = try await openTCPListener(host: host, port: port, group: harness.serverGroup)
            let upAgainAfter = await eventually(within: Self.upLimit) { harness.changes.state(of: id) == .up }
            #expect(upAgainAfter != nil, "up again after rise successes")
            #expect(harness.checker.verdicts.states[id] == .up)
            try await reopened.close()

            #expect(
                harness.changes.transitions.map { [$0.from, $0.to] } == [
                    [.pending, .up], [.up, .down], [.down, .up],
                ]
            )
            let allAboutTheListener = harness.changes.transitions.allSatisfy { $0.endpoint == id && $0.port == port }
            #expect(allAboutTheListener)
        }
        let changed = logs.entries.filter { $0.message == "endpoint health changed" }
        #expect(changed.count == 3, "each transition logged once")
        let levels = changed.map(\.level)
        let states = changed.map { $0.metadata["health.state"]?.description }
        #expect(levels == [.info, .info, .info])
        #expect(states == ["up", "down", "up"])
        #expect(changed.dropFirst().first?.metadata["health.reason"]?.description == "connection refused")
        #expect(changed.first?.metadata["health.service"]?.description == "default/tcp")
        #expect(changed.first?.metadata["health.address"]?.description == "127.0.21.1")
        #expect(changed.first?.metadata["health.port"] != nil)
    }

    @Test func httpServerAnswering500IsDownThen200IsUp() async throws {
        try await withChecker(defaults: Self.fast) { harness in
            let host = "127.0.21.3"
            let server = try await StatusServer.start(
                host: host, status: .internalServerError, group: harness.serverGroup)
            let id = Fixture.id("web", host)
            let overrides = HealthCheckOverrides(kind: .http, port: .name("http"), path: "/ready")
            harness.checker.update(
                catalog: Fixture.catalog([
                    Fixture.service(
                        "web", healthCheck: overrides,
                        slices: [Fixture.slice([host], ports: [("grpc", 1), ("http", server.port)])]
                    )
                ])
            )

            let downAfter = await eventually(within: Self.downLimit) { harness.changes.state(of: id) == .down }
            #expect(downAfter != nil, "pending then down after fall failures")
            #expect(harness.changes.transitions.map(\.to) == [.down])
            #expect(harness.changes.transitions.first?.reason == "HTTP 500")

            let request = try #require(server.lastRequest)
            #expect(request.method == .GET)
            #expect(request.uri == "/ready")
            #expect(request.version == .http1_1)
            #expect(request.headers["Host"] == ["\(host):\(server.port)"])
            #expect(request.headers["User-Agent"] == ["svcdns-health"])
            #expect(request.headers["Connection"] == ["close"])

            server.status = .ok
            let upAfter = await eventually(within: Self.upLimit) { harness.changes.state(of: id) == .up }
            #expect(upAfter != nil, "up after rise successes")
            try await server.close()
        }
    }

    @Test func redirectIsHealthyAndOtherStatusesAreNot() async throws {
        try await withChecker(defaults: Self.fast) { harness in
            let host = "127.0.21.4"
            let server = try await StatusServer.start(host: host, status: .found, group: harness.serverGroup)
            let id = Fixture.id("redirect", host)
            harness.checker.update(
                catalog: Fixture.catalog([
                    Fixture.service(
                        "redirect", healthCheck: HealthCheckOverrides(kind: .http),
                        slices: [Fixture.slice([host], ports: [("http", server.port)])]
                    )
                ])
            )
            let redirectUp = await eventually(within: Self.upLimit) { harness.changes.state(of: id) == .up }
            #expect(redirectUp != nil)
            #expect(server.lastRequest?.uri == "/healthz")

            server.status = .notFound
            let notFoundDown = await eventually(within: Self.downLimit) { harness.changes.state(of: id) == .down }
            #expect(notFoundDown != nil)
            #expect(harness.changes.transitions.last?.reason == "HTTP 404")
            try await server.close()
        }
    }

    @Test func httpOverIPv6LoopbackBracketsTheHost() async throws {
        try await withChecker(defaults: Self.fast) { harness in
            // Some containers have no ::1; there is nothing to probe then.
            guard let server = try? await StatusServer.start(host: "::1", status: .ok, group: harness.serverGroup)
            else {
                return
            }
            let id = Fixture.id("v6", "::1")
            harness.checker.update(
                catalog: Fixture.catalog([
                    Fixture.service(
                        "v6", healthCheck: HealthCheckOverrides(kind: .http),
                        slices: [Fixture.slice(["::1"], ports: [("http", server.port)])]
                    )
                ])
            )
            let v6Up = await eventually(within: Self.upLimit) { harness.changes.state(of: id) == .up }
            #expect(v6Up != nil)
            #expect(server.lastRequest?.headers["Host"] == ["[::1]:\(server.port)"])
            try await server.close()
        }
    }

    @Test func httpServerThatNeverAnswersTimesOut() async throws {
        try await withChecker(defaults: Self.fast) { harness in
            // Accepts the connection and never answers: only the whole-probe deadline ends the probe.
            let host = "127.0.21.5"
            let listener = try await openTCPListener(host: host, group: harness.serverGroup)
            let id = Fixture.id("silent", host)
            harness.checker.update(
                catalog: Fixture.catalog([
                    Fixture.service(
                        "silent", healthCheck: HealthCheckOverrides(kind: .http),
                        slices: [Fixture.slice([host], ports: [("http", listener.localAddress!.port!)])]
                    )
                ])
            )
            let silentDown = await eventually(within: Self.downLimit) { harness.changes.state(of: id) == .down }
            #expect(silentDown != nil)
            #expect(harness.changes.transitions.last?.reason == "timed out after 100ms")
            try await listener.close()
        }
    }

    @Test func httpServerThatClosesOrSpeaksSomethingElseIsDown() async throws {
        try await withChecker(defaults: Self.fast) { harness in
            // A server that closes at once may be seen to close (FIN) or, when the request arrives after the close,
            // to reset the connection: the order of the two is the kernel's.
            let cases: [(String, String, Set<String>)] = [
                ("127.0.21.7", "", ["connection closed before a response", "connection reset"]),
                ("127.0.21.8", "SSH-2.0-OpenSSH_9.2\r\n", ["bad HTTP response: not an HTTP/1 status line"]),
                ("127.0.21.9", String(repeating: "x", count: 4000), ["bad HTTP response: no status line in 512 bytes"]),
            ]
            var services: [Fixture.ServiceWithSlices] = []
            var listeners: [any Channel] = []
            for (index, (host, reply, _)) in cases.enumerated() {
                let listener = try await openReplyingListener(host: host, reply: reply, group: harness.serverGroup)
                listeners.append(listener)
                services.append(
                    Fixture.service(
                        "odd-\(index)", healthCheck: HealthCheckOverrides(kind: .http),
                        slices: [Fixture.slice([host], ports: [("http", listener.localAddress!.port!)])]
                    )
                )
            }
            harness.checker.update(catalog: Fixture.catalog(services))
            for (index, (host, _, reason)) in cases.enumerated() {
                let id = Fixture.id("odd-\(index)", host)
                let down = await eventually(within: Self.downLimit) { harness.changes.state(of: id) == .down }
                #expect(down != nil, "\(host)")
                let seen = harness.changes.transitions.last { $0.endpoint == id }?.reason ?? "none"
                #expect(reason.contains(seen), "\(host): \(seen)")
            }
            for listener in listeners {
                try await listener.close()
            }
        }
    }

    /// Thousands of endpoints probed every second would fill the TIME_WAIT table if probes closed with a FIN:
    /// they close with an RST, so neither side keeps the connection.
    @Test func probesLeaveNoConnectionInTimeWait() async throws {
        let defaults = HealthDefaults(interval: .milliseconds(20), timeout: .milliseconds(200), fall: 2, rise: 1)
        try await withChecker(defaults: defaults) { harness in
            let host = "127.0.21.10"
            let listener = try await openTCPListener(host: host, group: harness.serverGroup)
            let port = listener.localAddress!.port!
            let id = Fixture.id("lingering", host)
            harness.checker.update(
                catalog: Fixture.catalog([
                    Fixture.service("lingering", slices: [Fixture.slice([host], ports: [("app", port)])])
                ])
            )
            let statuses = await eventually(within: .seconds(5)) { harness.changes.state(of: id) == .up }
            #expect(statuses != nil)
            try await Task.sleep(for: .milliseconds(500))  // some twenty probes
            let probes = await harness.checker.statuses().count
            #expect(probes == 1)
            #expect(try timeWaitCount(host: host, port: port) == 0)
            try await listener.close()
        }
    }

    @Test func endpointsWaitAsPendingUntilRunStartsAndUpdatesAfterStopAreIgnored() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let host = "127.0.21.11"
        let listener = try await openTCPListener(host: host, group: group)
        let changes = ChangeRecorder()
        let checker = try HealthChecker(
            defaults: Self.fast, logger: Logger(label: "svcdns.health.test", factory: { _ in SwiftLogNoOpLogHandler() }),
            onChange: { changes.record($0, $1) }
        )
        let id = Fixture.id("early", host)
        let catalog = Fixture.catalog([
            Fixture.service("early", slices: [Fixture.slice([host], ports: [("app", listener.localAddress!.port!)])])
        ])
        checker.update(catalog: catalog)
        let enteredPending = await eventually(within: .seconds(2)) { checker.verdicts.states[id] == .pending }
        #expect(enteredPending != nil)
        try await Task.sleep(for: .milliseconds(300))
        #expect(checker.verdicts.states[id] == .pending, "no probe before run()")
        #expect(changes.calls.count == 1)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await checker.run() }
            let upOnceRunning = await eventually(within: .seconds(2)) { checker.verdicts.states[id] == .up }
            #expect(upOnceRunning != nil)
            tasks.cancelAll()
            try await tasks.waitForAll()
        }
        // Stopped: later catalogs are ignored, and the status is empty.
        checker.update(catalog: Catalog())
        try await Task.sleep(for: .milliseconds(100))
        #expect(checker.verdicts.states[id] == .up)
        #expect(await checker.statuses().isEmpty)
        try await listener.close()
        try await group.shutdownGracefully()
    }

    @Test func capHoldsWith300ClosedPorts() async throws {
        let ids = (0..<300).map { Fixture.id("closed-\($0)", "127.0.0.1") }
        try await withChecker(defaults: Self.fast, maxConcurrentProbes: 8) { harness in
            // A port that was free a moment ago: nothing listens on it, so every probe is refused.
            let probe = try await openTCPListener(host: "127.0.0.1", group: harness.serverGroup)
            let closedPort = probe.localAddress!.port!
            try await probe.close()
            let services = (0..<300).map { index in
                Fixture.service("closed-\(index)", slices: [Fixture.slice(["127.0.0.1"], ports: [("app", closedPort)])])
            }
            harness.checker.update(catalog: Fixture.catalog(services))
            let allDown = await eventually(within: .seconds(20)) {
                let states = harness.changes.latest.states
                return ids.allSatisfy { states[$0] == .down }
            }
            #expect(allDown != nil, "every endpoint down")
            let counts = try await harness.checker.probeCounts()
            // 300 probes due at once fill every slot (a connect completes on a later loop tick), and no more.
            #expect(counts.highWaterMark == 8, "the cap is reached and never exceeded")
            #expect(counts.inFlight <= 8)
        }
    }
}
