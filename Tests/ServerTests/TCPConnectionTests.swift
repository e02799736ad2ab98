// TCP connection behaviour (RFC 7766): pipelining, partial writes, half-close, idle timeout, connection cap.
import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("TCP connections (RFC 7766)")
struct TCPConnectionTests {
    static let queries: [(id: UInt16, name: String, type: String)] = [
        (101, ServerFixture.web, "A"),
        (102, "big-1.big.data.svc.cluster.local.", "A"),
        (103, "_http._tcp.web.default.svc.cluster.local.", "SRV"),
    ]

    @Test func pipelinedQueriesAreAnsweredInOrder() async throws {
        try await withTestServer(try ServerFixture.snapshot()) { server in
            let connection = try TestClient.TCPConnection(port: server.port, timeout: 2)
            let frames = try Self.queries.flatMap { try TestClient.frame(LDNS.query($0.name, $0.type, id: $0.id)) }
            try connection.send(frames)  // one write: all three frames arrive together
            for query in Self.queries {
                let response = try LDNS.decode(try #require(connection.receiveMessage(), "no answer to \(query.id)"))
                #expect(response.id == query.id)
                #expect(response.question == ["\(query.name) IN \(query.type)"])
                #expect(response.rcodeName == "NOERROR")
                #expect(response.answer.count == 1)
            }
        }
    }

    @Test func queryWrittenOneByteAtATimeIsAnswered() async throws {
        try await withTestServer(try ServerFixture.snapshot()) { server in
            let connection = try TestClient.TCPConnection(port: server.port, timeout: 2)
            let frame = TestClient.frame(try LDNS.query(ServerFixture.web, "A", id: 104))
            #expect(frame.count < 100)
            for byte in frame {
                try connection.send([byte])
                usleep(2_000)  // bounded: under 100 bytes × 2 ms
            }
            let response = try LDNS.decode(try #require(connection.receiveMessage()))
            #expect(response.id == 104)
            #expect(response.answer == [try LDNS.canonical(ServerFixture.webA)])
        }
    }

    @Test func answersStillArriveAfterTheClientHalfCloses() async throws {
        try await withTestServer(try ServerFixture.snapshot()) { server in
            let connection = try TestClient.TCPConnection(port: server.port, timeout: 2)
            let frames = try Self.queries.flatMap { try TestClient.frame(LDNS.query($0.name, $0.type, id: $0.id)) }
            try connection.send(frames)
            connection.finishSending()
            for query in Self.queries {
                let response = try LDNS.decode(try #require(connection.receiveMessage(), "no answer to \(query.id)"))
                #expect(response.id == query.id)
            }
            #expect(connection.waitForClose(), "the server should close once its answers are written")
        }
    }

    @Test func partialFrameAtHalfCloseIsDiscardedAndTheConnectionCloses() async throws {
        try await withTestServer(try ServerFixture.snapshot()) { server in
            let connection = try TestClient.TCPConnection(port: server.port, timeout: 2)
            let whole = TestClient.frame(try LDNS.query(ServerFixture.web, "A", id: 105))
            let partial = Array(TestClient.frame(try LDNS.query(ServerFixture.big, "A", id: 106)).prefix(9))
            try connection.send(whole + partial)
            connection.finishSending()
            let response = try LDNS.decode(try #require(connection.receiveMessage()))
            #expect(response.id == 105)
            #expect(connection.waitForClose())
        }
    }

    @Test func idleConnectionIsClosedByTheServer() async throws {
        try await withTestServer(try ServerFixture.snapshot(), tcpIdleTimeout: .milliseconds(300)) { server in
            let connection = try TestClient.TCPConnection(port: server.port, timeout: 2)
            try connection.send(TestClient.frame(LDNS.query(ServerFixture.web, "A", id: 107)))
            let response = try LDNS.decode(try #require(connection.receiveMessage()))
            #expect(response.id == 107)
            let start = Date()
            #expect(connection.waitForClose(), "not closed within 2 s")
            let elapsed = Date().timeIntervalSince(start)
            #expect(elapsed > 0.15, "closed after \(elapsed) s, before the 300 ms idle timeout")
            #expect(elapsed < 2)
        }
    }

    @Test func aClientThatReadsSlowlyIsNotIdle() async throws {
        // RFC 7766 §6.2.3: idle means nothing moved either way. A client that has sent all its queries and
        // reads their answers slowly, for four times the idle timeout, still gets every one of them.
        try await withTestServer(try ServerFixture.snapshot(), tcpIdleTimeout: .milliseconds(300)) { server in
            let connection = try TestClient.TCPConnection(port: server.port, timeout: 2)
            let count = 400
            let frames = try (0..<count).flatMap { try TestClient.frame(LDNS.query(ServerFixture.bigSRV, "SRV", id: UInt16($0))) }
            try connection.send(frames)
            var received = 0
            for index in 0..<count {
                guard let reply = connection.receiveMessage() else { break }
                let response = try LDNS.decode(reply)
                #expect(response.id == UInt16(index))
                #expect(response.answer.count == ServerFixture.headlessCount)
                received += 1
                if index % 20 == 0 { usleep(60_000) }  // bounded: 20 pauses, 1.2 s in all
            }
            #expect(received == count, "the connection was closed after \(received) answers")
        }
    }

    /// Taken at once (no `--tcp-defer-accept`), a connection that never sends is closed at the idle timeout.
    /// With the default it waits in the kernel, untaken, for the deferral first.
    @Test func silentConnectionIsClosedByTheServer() async throws {
        try await withTestServer(try ServerFixture.snapshot(), tcpIdleTimeout: .milliseconds(300), tcpDeferAccept: .zero) { server in
            let connection = try TestClient.TCPConnection(port: server.port, timeout: 2)
            let start = Date()
            #expect(connection.waitForClose(), "not closed within 2 s")
            #expect(Date().timeIntervalSince(start) < 2)
        }
    }

    /// At the cap a new connection is served and the one quiet the longest is closed for it: refusing the
    /// newcomer let idle connections, opened again as they were closed, keep everyone else off TCP.
    @Test func atTheCapANewConnectionClosesTheQuietestOne() async throws {
        try await withTestServer(try ServerFixture.snapshot(), maxTCPConnections: 2) { server in
            func answers(_ connection: TestClient.TCPConnection, id: UInt16) throws -> Bool {
                try connection.send(TestClient.frame(LDNS.query(ServerFixture.web, "A", id: id)))
                guard let reply = connection.receiveMessage() else { return false }
                return try LDNS.decode(reply).id == id
            }
            let first = try TestClient.TCPConnection(port: server.port, timeout: 2)
            let second = try TestClient.TCPConnection(port: server.port, timeout: 2)
            // The server marks an answer's connection as moved once the write completes, which can come after
            // the client has read it: on a busy machine a connection could otherwise seem to move after the next.
            func letTheWriteComplete() { Thread.sleep(forTimeInterval: 0.2) }
            #expect(try answers(first, id: 1))
            letTheWriteComplete()
            #expect(try answers(second, id: 2))

            // `first` moved last before `second` did: it makes room for a third.
            let third = try TestClient.TCPConnection(port: server.port, timeout: 2)
            #expect(try answers(third, id: 3), "a connection at the cap was not served")
            #expect(first.waitForClose(), "the quietest connection was not closed")
            letTheWriteComplete()
            #expect(try answers(second, id: 4))
            letTheWriteComplete()

            // Now `third` is the quietest; a newcomer that sends one byte and then nothing is taken too,
            // closing the quietest (one that sends nothing waits in the kernel for `--tcp-defer-accept`).
            let idle = try TestClient.TCPConnection(port: server.port, timeout: 2)
            try idle.send([0])
            #expect(third.waitForClose(), "the quietest connection was not closed for an idle newcomer")
            let fifth = try TestClient.TCPConnection(port: server.port, timeout: 2)
            #expect(try answers(fifth, id: 5))
            #expect(second.waitForClose(), "the cap leaked a slot: the quietest connection stayed open")
            _ = idle
        }
    }
}
