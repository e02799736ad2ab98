// ResponseRateLimiter's decisions with a clock the test sets: the burst allowance, the refill, the slip
// sequence, what is counted apart (client network, name, kind) and a bucket left alone for days.
import DNSMessage
import NIOCore
import Server
import ServiceModel
import SvcDNSTesting
import Testing

@Suite("ResponseRateLimiter")
struct ResponseRateLimiterTests {
    static let web = DomainName("web.default.svc.cluster.local.")!
    static let api = DomainName("api.default.svc.cluster.local.")!
    static let client = IPAddress("192.0.2.7")!
    /// Far from zero, so differences before "now" are real.
    static let start = NIODeadline.uptimeNanoseconds(10_000_000_000_000)

    static func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    static func decisions(
        _ limiter: ResponseRateLimiter, count: Int, name: DomainName = web, kind: ResponseRateLimiter.Kind = .answer,
        client: IPAddress = client, at time: NIODeadline = at(0)
    ) -> [ResponseRateLimiter.Decision] {
        (0..<count).map { _ in limiter.decide(kind: kind, name: name, client: client, now: time) }
    }

    @Test func rateAtOnceThenEverySlipThRunSlipsAndTheRestDrop() {
        let limiter = ResponseRateLimiter(ResponseRateLimit(rate: 10, slip: 2, tableSize: 1024))
        let burst = Self.decisions(limiter, count: 30)
        #expect(burst.prefix(10).allSatisfy { $0 == .send })
        #expect(Array(burst.dropFirst(10)) == Array(repeating: [.drop, .slip], count: 10).flatMap { $0 })
    }

    @Test func oneMoreEveryIntervalAndNoDoubleAllowanceAcrossASecond() {
        let limiter = ResponseRateLimiter(ResponseRateLimit(rate: 10, slip: 0, tableSize: 1024))
        // 10 at 0.95 s, then at 1.05 s (a new second, but only 100 ms later) one more, not ten.
        #expect(Self.decisions(limiter, count: 12, at: Self.at(950)).filter { $0 == .send }.count == 10)
        #expect(Self.decisions(limiter, count: 12, at: Self.at(1050)).filter { $0 == .send }.count == 1)
        // After a quiet second the whole allowance is back.
        #expect(Self.decisions(limiter, count: 12, at: Self.at(2100)).filter { $0 == .send }.count == 10)
    }

    @Test(arguments: [(0, ResponseRateLimiter.Decision.drop), (1, .slip)])
    func slipZeroDropsAllAndOneSlipsAll(slip: Int, expected: ResponseRateLimiter.Decision) {
        let limiter = ResponseRateLimiter(ResponseRateLimit(rate: 5, slip: slip, tableSize: 1024))
        let burst = Self.decisions(limiter, count: 20)
        #expect(burst.prefix(5).allSatisfy { $0 == .send })
        #expect(burst.dropFirst(5).allSatisfy { $0 == expected })
    }

    @Test func slipThreeSlipsEveryThirdAcrossTheCounterWrap() {
        // The limited count is 12 bits: it must wrap at a multiple of the slip, or the pattern would jump.
        let limiter = ResponseRateLimiter(ResponseRateLimit(rate: 1, slip: 3, tableSize: 1024))
        let burst = Self.decisions(limiter, count: 1 + 3 * 2000).dropFirst()
        let slipped = burst.enumerated().filter { $0.element == .slip }.map(\.offset)
        #expect(slipped.count == 2000)
        #expect(slipped.allSatisfy { $0 % 3 == 2 })
    }

    @Test func networksNamesAndKindsAreCountedApart() {
        let limiter = ResponseRateLimiter(ResponseRateLimit(rate: 3, slip: 0, tableSize: 1 << 20))
        #expect(Self.decisions(limiter, count: 4) == [.send, .send, .send, .drop])
        // Same /24: the same client as far as RRL goes.
        #expect(Self.decisions(limiter, count: 1, client: IPAddress("192.0.2.200")!) == [.drop])
        #expect(Self.decisions(limiter, count: 4, client: IPAddress("192.0.3.7")!) == [.send, .send, .send, .drop])
        #expect(Self.decisions(limiter, count: 4, name: Self.api) == [.send, .send, .send, .drop])
        #expect(Self.decisions(limiter, count: 4, kind: .nxDomain) == [.send, .send, .send, .drop])
        // IPv6: one /56.
        let v6 = Self.decisions(limiter, count: 3, client: IPAddress("2001:db8:0:1200::1")!)
            + Self.decisions(limiter, count: 1, client: IPAddress("2001:db8:0:12ff::9")!)
        #expect(v6 == [.send, .send, .send, .drop])
        #expect(Self.decisions(limiter, count: 1, client: IPAddress("2001:db8:0:1300::1")!) == [.send])
        // Letter case does not make another name.
        #expect(Self.decisions(limiter, count: 1, name: DomainName("WEB.default.svc.cluster.local.")!) == [.drop])
    }

    @Test func aBucketLeftAloneForDaysStartsAfresh() {
        let limiter = ResponseRateLimiter(ResponseRateLimit(rate: 2, slip: 0, tableSize: 1024))
        #expect(Self.decisions(limiter, count: 3) == [.send, .send, .drop])
        // 40 bits of microseconds wrap after 12.7 days: 13 days later the bucket must not read as "ahead".
        let later = Self.start + .hours(24 * 13)
        #expect(Self.decisions(limiter, count: 3, at: later) == [.send, .send, .drop])
    }

    @Test func aSlippedResponseIsTheQuestionWithTCAndNoRecords() throws {
        let limiter = ResponseRateLimiter(ResponseRateLimit(rate: 1, slip: 1, tableSize: 1024))
        let query = Query(
            header: QueryHeader(id: 7, flags: 0x0100), name: Self.web, type: .a, recordClass: 1,
            edns: EDNS(udpPayloadSize: 4096))
        let response = Response(
            authoritative: true,
            answer: [RRSet(owner: Self.web, type: .a, ttl: 5, rdata: [.a(IPv4Bytes(10, 96, 0, 10))])])
        #expect(limiter.decide(response, to: query, client: Self.client, now: Self.at(0)) == .send)
        #expect(limiter.decide(response, to: query, client: Self.client, now: Self.at(0)) == .slip)
        var bytes: [UInt8] = []
        ResponseEncoder.encode(.response(response.slipped, to: query), limit: 1232, into: &bytes)
        let decoded = try LDNS.decode(bytes)
        #expect(decoded.id == 7)
        #expect(decoded.truncated && decoded.authoritative && decoded.rcodeName == "NOERROR")
        #expect(decoded.question == ["web.default.svc.cluster.local. IN A"])
        #expect(decoded.answer.isEmpty && decoded.authority.isEmpty && decoded.additional.isEmpty)
        #expect(decoded.edns?.udpSize == 1232)
        // An NXDOMAIN is counted by its zone: random names under one zone share one allowance.
        let soa = RRSet(
            owner: DomainName("cluster.local.")!, type: .soa, ttl: 5,
            rdata: [.opaque([UInt8](repeating: 0, count: 22))])
        let limiterNX = ResponseRateLimiter(ResponseRateLimit(rate: 1, slip: 0, tableSize: 1024))
        for (index, label) in ["a1", "b2", "c3"].enumerated() {
            let name = DomainName("\(label).default.svc.cluster.local.")!
            let nx = Query(header: QueryHeader(id: 8, flags: 0), name: name, type: .a, recordClass: 1, edns: nil)
            let decision = limiterNX.decide(
                Response(rcode: .nameError, authority: [soa]), to: nx, client: Self.client, now: Self.at(0))
            #expect(decision == (index == 0 ? .send : .drop))
        }
    }
}
