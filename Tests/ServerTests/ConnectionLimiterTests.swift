// ConnectionLimiter's choice at the TCP connection caps: exact among a few connections, at a cap of
// thousands the quietest of a sample, never one that moved most recently, and at one client's own cap
// one of that client's connections, never another client's.
import Forwarding
import NIOCore
import NIOEmbedded
import ServiceModel
import Testing

@testable import Server

@Suite("ConnectionLimiter")
struct ConnectionLimiterTests {
    /// Connections that moved in the order given (each later than the one before).
    static func connections(_ count: Int, from client: String? = nil) -> [TCPConnectionActivity] {
        (0..<count).map { _ in
            let channel = EmbeddedChannel()
            channel.remoteAddress = client.map { try! SocketAddress(ipAddress: $0, port: 40000) }
            let connection = TCPConnectionActivity(channel: channel)
            connection.touch()
            return connection
        }
    }

    @Test func belowTheCapNothingIsClosedAndAClosedConnectionFreesItsPlace() {
        let limiter = ConnectionLimiter(limit: 3, perClientLimit: 3)
        let open = Self.connections(3)
        for connection in open { #expect(limiter.admit(connection) == nil) }
        #expect(limiter.count == 3)
        limiter.release(open[1])
        limiter.release(open[1])
        #expect(limiter.count == 2, "a connection released twice was counted out twice")
        #expect(limiter.admit(Self.connections(1)[0]) == nil)
        #expect(limiter.count == 3)
    }

    @Test func atASmallCapTheQuietestConnectionMakesRoom() {
        let limiter = ConnectionLimiter(limit: 3, perClientLimit: 3)
        let open = Self.connections(3)
        for connection in open { _ = limiter.admit(connection) }
        open[0].touch()  // now open[1] has been quiet the longest
        let newcomer = Self.connections(1)[0]
        #expect(limiter.admit(newcomer)?.close === open[1])
        #expect(limiter.count == 3)
        limiter.release(open[1])  // its close arrives later: not counted out again
        #expect(limiter.count == 3)
        #expect(limiter.admit(Self.connections(1)[0])?.close === open[2])
    }

    @Test func atALargeCapOnlyQuietConnectionsMakeRoom() {
        let cap = 4096
        let limiter = ConnectionLimiter(limit: cap, perClientLimit: cap)
        let open = Self.connections(cap)
        for connection in open { #expect(limiter.admit(connection) == nil) }
        let age = Dictionary(uniqueKeysWithValues: open.enumerated().map { (ObjectIdentifier($1), $0) })
        var closed = Set<ObjectIdentifier>()
        for newcomer in Self.connections(512) {
            guard let victim = limiter.admit(newcomer)?.close else {
                Issue.record("a newcomer at the cap closed nothing")
                return
            }
            #expect(closed.insert(ObjectIdentifier(victim)).inserted, "a connection was closed twice")
            // The quietest of 32 is in the older half unless all 32 were drawn from the newer half (2^-32).
            let place = age[ObjectIdentifier(victim)]
            #expect(place.map { $0 < cap / 2 } == true, "closed connection \(place.map(String.init) ?? "newcomer") of \(cap)")
        }
        #expect(limiter.count == cap)
    }

    @Test func atItsOwnCapAClientMakesRoomFromItsOwnConnections() {
        let limiter = ConnectionLimiter(limit: 10, perClientLimit: 3)
        // The other client's connection moved first: it is the quietest of all.
        let other = Self.connections(1, from: "127.0.0.2")[0]
        #expect(limiter.admit(other) == nil)
        let own = Self.connections(3, from: "127.0.0.1")
        for connection in own { #expect(limiter.admit(connection) == nil) }
        let more = Self.connections(5, from: "127.0.0.1")
        for (index, connection) in more.enumerated() {
            let made = limiter.admit(connection)
            #expect(made?.reason == .client)
            #expect(made?.close === (own + more)[index], "not the client's own quietest")
        }
        #expect(limiter.count == 4)
        // An IPv6 client is one /64: another address in it shares the share.
        let v6 = Self.connections(3, from: "fd00::1") + Self.connections(1, from: "fd00::2")
        for connection in v6.prefix(3) { #expect(limiter.admit(connection) == nil) }
        #expect(limiter.admit(v6[3])?.close === v6[0])
        // The overall cap still holds for many clients, and makes room from anyone's: here the other client's.
        #expect(limiter.count == 7)
        let crowd = (1...4).map { Self.connections(1, from: "127.0.1.\($0)")[0] }
        for connection in crowd.prefix(3) { #expect(limiter.admit(connection) == nil) }
        let made = limiter.admit(crowd[3])
        #expect(made?.reason == .all)
        #expect(made?.close === other)
    }

    /// One key per client for both per-client caps (TCP connections, forwarded questions in flight): an IPv4
    /// address, or an IPv6 /64. The forwarder's was a whole IPv6 address, so a host rotating through its /64
    /// had no cap there.
    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1", true), ("10.0.0.1", "10.0.0.2", false),
        ("fd00::1", "fd00::ffff:2", true), ("fd00:0:0:1::1", "fd00::1", false),
    ])
    func aClientIsAnIPv4AddressOrAnIPv6Slash64(one: String, other: String, same: Bool) throws {
        let key = { (text: String) in ClientKey(try #require(IPAddress(text))) }
        #expect((try key(one) == key(other)) == same)
    }
}
