// Malformed input over real sockets (Knot-style named rows): each gets FORMERR with its ID, or is dropped;
// the server keeps answering afterwards.
import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A named malformed message and whether the server must answer it FORMERR or drop it.
struct MalformedMessage: Sendable, CustomTestStringConvertible {
    enum Outcome: Sendable { case formErr, drop }
    var name: String
    var bytes: [UInt8]
    var outcome: Outcome
    var testDescription: String { name }

    static let id: UInt16 = 0xF00D

    static let all: [MalformedMessage] = {
        typealias M = RawMessage
        let good = M.header(id: id) + M.question()
        return [
            MalformedMessage(name: "short header", bytes: Array(good.prefix(11)), outcome: .drop),
            MalformedMessage(name: "QR set", bytes: M.header(id: id, flags: 0x8100) + M.question(), outcome: .drop),
            MalformedMessage(name: "trailing garbage", bytes: good + [0xDE, 0xAD], outcome: .formErr),
            MalformedMessage(
                name: "compression loop", bytes: M.header(id: id) + [0xC0, 12] + M.u16(1) + M.u16(1),
                outcome: .formErr),
            MalformedMessage(name: "label past end", bytes: M.header(id: id) + [9, 0x61, 0x62], outcome: .formErr),
            MalformedMessage(
                name: "label over 63 bytes",
                bytes: M.header(id: id) + [64] + Array(repeating: 0x61, count: 64) + [0] + M.u16(1) + M.u16(1),
                outcome: .formErr),
            MalformedMessage(
                name: "name over 255 bytes",
                bytes: M.header(id: id)
                    + M.name(Array(repeating: String(repeating: "n", count: 63), count: 5).joined(separator: "."))
                    + M.u16(1) + M.u16(1),
                outcome: .formErr),
            MalformedMessage(
                name: "truncated EDNS option",
                bytes: M.header(id: id, ar: 1) + M.question() + M.opt(rdata: M.u16(10) + M.u16(8) + [1, 2, 3]),
                outcome: .formErr),
            MalformedMessage(name: "QDCOUNT 0", bytes: M.header(id: id, qd: 0), outcome: .formErr),
        ]
    }()
}

@Suite("Malformed queries over UDP and TCP")
struct MalformedQueryTests {
    @Test(arguments: Transport.allCases, MalformedMessage.all)
    func namedMalformedMessage(transport: Transport, message: MalformedMessage) async throws {
        try await withTestServer(try ServerFixture.snapshot()) { server in
            switch message.outcome {
            case .drop:
                let reply = try transport.exchange(message.bytes, with: server, timeout: 0.5)
                #expect(
                    reply == nil,
                    "expected no reply within 0.5 s, got \(String(describing: reply.flatMap { try? LDNS.decode($0) }))")
            case .formErr:
                let response = try transport.ask(message.bytes, server)
                #expect(response.id == MalformedMessage.id)
                #expect(response.rcodeName == "FORMERR")
                #expect(response.isResponse)
                #expect(response.answer.isEmpty)
            }
            try expectStillAnswers(server, transport)
        }
    }

    /// 200 random byte strings (fixed seed). Each carries its index as the ID so replies can be matched.
    static let randomCorpus: [[UInt8]] = {
        var generator = SplitMix64(seed: 0x5EED_0F_D05)
        return (0..<200).map { index in
            let length = Int.random(in: 0...96, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.count >= 2 { (bytes[0], bytes[1]) = (UInt8(index >> 8), UInt8(index & 0xFF)) }
            return bytes
        }
    }()

    /// Reply expected from the header alone: none without a header or with QR set; NOTIMP for another
    /// opcode; otherwise FORMERR (the rest is random, so it is not a usable question).
    static func expectedRcode(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 12, bytes[2] & 0x80 == 0 else { return nil }
        return (bytes[2] >> 3) & 0x0F == 0 ? "FORMERR" : "NOTIMP"
    }

    @Test func randomCorpusHasBothOutcomes() {
        // Keeps the corpus honest: a seed that made only drops (or only replies) would test half the ladder.
        let answerable = Self.randomCorpus.filter { Self.expectedRcode($0) != nil }.count
        #expect(answerable > 50)
        #expect(Self.randomCorpus.count - answerable > 50)
    }

    @Test func randomBytesOverUDP() async throws {
        try await withTestServer(try ServerFixture.snapshot()) { server in
            let socket = try UDPSocket(port: server.port)
            let sentinel = try LDNS.query(ServerFixture.web, "A", id: 0xFFFF)
            // Batches of 10, each followed by a good query: the server answers a socket's datagrams in order,
            // so when the sentinel's answer arrives every reply to the batch has arrived before it.
            for batchStart in stride(from: 0, to: Self.randomCorpus.count, by: 10) {
                let batch = batchStart..<min(batchStart + 10, Self.randomCorpus.count)
                for index in batch { try socket.send(Self.randomCorpus[index]) }
                try socket.send(sentinel)
                var replies: [Int: String] = [:]
                var sawSentinel = false
                for _ in 0..<12 {
                    guard let reply = socket.receive() else { break }
                    let response = try LDNS.decode(reply)
                    if response.id == 0xFFFF {
                        sawSentinel = true
                        #expect(response.answer == [try LDNS.canonical(ServerFixture.webA)])
                        break
                    }
                    replies[Int(response.id)] = response.rcodeName
                }
                #expect(sawSentinel, "the server stopped answering during batch \(batch)")
                for index in batch {
                    let expected = Self.expectedRcode(Self.randomCorpus[index])
                    let got = replies[index] ?? "no reply"
                    #expect(
                        replies[index] == expected,
                        "random message \(index): got \(got), expected \(expected ?? "no reply")")
                }
            }
            try expectStillAnswers(server, .udp)
        }
    }

    @Test func randomBytesOverTCP() async throws {
        try await withTestServer(try ServerFixture.snapshot()) { server in
            let connection = try TestClient.TCPConnection(port: server.port, timeout: 2)
            let sentinel = try LDNS.query(ServerFixture.web, "A", id: 0xFFFF)
            // All 200 frames pipelined, then a good query; answers come in order, so the expected replies
            // must arrive exactly as listed, then the sentinel's.
            try connection.send(Self.randomCorpus.flatMap(TestClient.frame) + TestClient.frame(sentinel))
            let expected = Self.randomCorpus.enumerated().compactMap { index, bytes in
                Self.expectedRcode(bytes).map { (index, $0) }
            }
            for (index, rcode) in expected {
                let reply = try #require(connection.receiveMessage(), "no reply to random message \(index)")
                let response = try LDNS.decode(reply)
                #expect(Int(response.id) == index)
                #expect(response.rcodeName == rcode, "random message \(index)")
            }
            let last = try LDNS.decode(try #require(connection.receiveMessage(), "no reply to the good query"))
            #expect(last.id == 0xFFFF)
            #expect(last.answer == [try LDNS.canonical(ServerFixture.webA)])
            try expectStillAnswers(server, .tcp)
        }
    }

    @Test(arguments: Transport.allCases)
    func wholeCorpusThenAGoodQuery(transport: Transport) async throws {
        try await withTestServer(try ServerFixture.snapshot()) { server in
            for message in MalformedMessage.all where message.outcome == .formErr {
                let response = try transport.ask(message.bytes, server)
                #expect(response.rcodeName == "FORMERR", "\(message.name)")
            }
            try expectStillAnswers(server, transport)
        }
    }
}

/// A good query still gets the right answer on `transport`.
func expectStillAnswers(_ server: TestServer, _ transport: Transport, sourceLocation: SourceLocation = #_sourceLocation)
    throws
{
    let response = try transport.ask(try LDNS.query(ServerFixture.web, "A", id: 0xACE), server)
    #expect(response.id == 0xACE, sourceLocation: sourceLocation)
    #expect(response.rcodeName == "NOERROR", sourceLocation: sourceLocation)
    #expect(response.answer == [try LDNS.canonical(ServerFixture.webA)], sourceLocation: sourceLocation)
}

/// One connected UDP socket that sends and receives many datagrams (TestClient's sends one and waits).
final class UDPSocket {
    private let fd: Int32

    init(port: Int, timeout: Double = 2) throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestClient.Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var value = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw TestClient.Failure(description: "connect: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == bytes.count else {
            throw TestClient.Failure(description: "send: \(String(cString: strerror(errno)))")
        }
    }

    /// The next datagram, or nil after the timeout.
    func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65535)
        let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard received >= 0 else { return nil }
        return Array(buffer[0..<received])
    }
}
