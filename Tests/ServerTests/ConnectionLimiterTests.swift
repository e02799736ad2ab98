// ConnectionLimiter's choice at the TCP connection cap: exact among a few connections, and at a cap of
// thousands the quietest of a sample, which is never one of the connections that moved most recently.
import NIOEmbedded
import Testing

@testable import Server

@Suite("ConnectionLimiter")
struct ConnectionLimiterTests {
    /// Connections that moved in the order given (each later than the one before).
    static func connections(_ count: Int) -> [TCPConnectionActivity] {
        (0..<count).map { _ in
            let connection = TCPConnectionActivity(channel: EmbeddedChannel())
            connection.touch()
            return connection
        }
    }

    @Test func belowTheCapNothingIsClosedAndAClosedConnectionFreesItsPlace() {
        let limiter = ConnectionLimiter(limit: 3)
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
        let limiter = ConnectionLimiter(limit: 3)
        let open = Self.connections(3)
        for connection in open { _ = limiter.admit(connection) }
        open[0].touch()  // now open[1] has been quiet the longest
        let newcomer = Self.connections(1)[0]
        #expect(limiter.admit(newcomer) === open[1])
        #expect(limiter.count == 3)
        limiter.release(open[1])  // its close arrives later: not counted out again
        #expect(limiter.count == 3)
        #expect(limiter.admit(Self.connections(1)[0]) === open[2])
    }

    @Test func atALargeCapOnlyQuietConnectionsMakeRoom() {
        let cap = 4096
        let limiter = ConnectionLimiter(limit: cap)
        let open = Self.connections(cap)
        for connection in open { #expect(limiter.admit(connection) == nil) }
        let age = Dictionary(uniqueKeysWithValues: open.enumerated().map { (ObjectIdentifier($1), $0) })
        var closed = Set<ObjectIdentifier>()
        for newcomer in Self.connections(512) {
            guard let victim = limiter.admit(newcomer) else {
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
}
