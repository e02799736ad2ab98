import Foundation
import Synchronization
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `--lameduck` through the real binary: after SIGTERM `/readyz` says 503 at once while every query, over UDP
/// and TCP, is still answered until the period ends; then svcdns exits cleanly. SIGINT stops at once.
@Suite(.serialized) struct LameduckTests {
    static let name = "web.default.svc.cluster.local"
    static let expected = ["web.default.svc.cluster.local. 5 IN A 10.96.0.10"]

    static func readyStatus(_ server: SvcDNSProcess) -> Int? {
        (try? TestHTTP.request("GET", "/readyz", port: server.httpPort, timeout: 1))?.status
    }

    /// Four clients query in a loop for `seconds` (every fourth query over TCP); the count of queries sent and
    /// of those answered correctly.
    static func load(_ server: SvcDNSProcess, seconds: Double) -> (sent: Int, answered: Int) {
        let sent = Atomic<Int>(0)
        let answered = Atomic<Int>(0)
        let end = Date().addingTimeInterval(seconds)
        DispatchQueue.concurrentPerform(iterations: 4) { client in
            var count = 0
            while Date() < end, count < 5000 {
                count += 1
                sent.add(1, ordering: .relaxed)
                guard let query = try? LDNS.query(Self.name, "A") else { continue }
                let reply = client == 0 && count % 4 == 0
                    ? try? TestClient.tcp(query, port: server.dnsPort, timeout: 1)
                    : try? TestClient.udp(query, port: server.dnsPort, timeout: 1)
                if let bytes = reply ?? nil, let decoded = try? LDNS.decode(bytes), decoded.rcodeName == "NOERROR",
                    decoded.answer == Self.expected
                {
                    answered.add(1, ordering: .relaxed)
                }
                usleep(2_000)
            }
        }
        return (sent.load(ordering: .relaxed), answered.load(ordering: .relaxed))
    }

    @Test func afterSIGTERMNotReadyButEveryQueryIsAnsweredUntilTheLameduckEnds() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--lameduck", "3s"])
        defer { server.stop() }
        #expect(Self.readyStatus(server) == 200)

        let signalled = Date()
        kill(server.processIdentifier, SIGTERM)
        var status = Self.readyStatus(server)
        let readyDeadline = Date().addingTimeInterval(1)
        while status != 503 && Date() < readyDeadline {
            usleep(20_000)
            status = Self.readyStatus(server)
        }
        #expect(status == 503, "/readyz answers 503 once SIGTERM is taken")
        #expect(Date().timeIntervalSince(signalled) < 0.5)

        let (sent, answered) = Self.load(server, seconds: 2)
        #expect(sent > 100)
        #expect(answered == sent, "no query lost while draining: \(answered) of \(sent)")
        #expect(server.isRunning)

        let exit = server.waitForExit(within: 5)
        let stoppedAfter = Date().timeIntervalSince(signalled)
        #expect(exit == 0, "\(server.output)")
        #expect(stoppedAfter >= 2.9 && stoppedAfter < 4.5, "stopped after the 3 s lameduck: \(stoppedAfter) s")
    }

    @Test func sigintStopsAtOnceEvenDuringTheLameduck() throws {
        let idle = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--lameduck", "30s"])
        defer { idle.stop() }
        var started = Date()
        kill(idle.processIdentifier, SIGINT)
        #expect(idle.waitForExit(within: 3) == 0)
        #expect(Date().timeIntervalSince(started) < 2)

        let draining = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--lameduck", "30s"])
        defer { draining.stop() }
        kill(draining.processIdentifier, SIGTERM)
        usleep(300_000)
        #expect(draining.isRunning, "draining for 30 s")
        started = Date()
        kill(draining.processIdentifier, SIGINT)
        #expect(draining.waitForExit(within: 3) == 0, "\(draining.output)")
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func noLameduckStopsAtOnceOnSIGTERM() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--lameduck", "0"])
        defer { server.stop() }
        let started = Date()
        kill(server.processIdentifier, SIGTERM)
        #expect(server.waitForExit(within: 3) == 0)
        #expect(Date().timeIntervalSince(started) < 2)
    }
}
