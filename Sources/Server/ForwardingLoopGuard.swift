import DNSMessage
import Forwarding
import Locking
import Synchronization

/// Finds a forwarding loop (an upstream that sends svcdns's questions back to it, directly or through other
/// resolvers) before it takes every forwarded question round until each times out, as CoreDNS's `loop` plugin
/// does: at start svcdns asks its upstreams about names no one else knows, and if one of them comes back to
/// it as a query, the path is a loop. Then svcdns refuses every name it would forward, says so in its log and
/// on `/readyz`, and keeps answering its own zones.
public final class ForwardingLoopGuard: Sendable {
    /// One probe name per set of upstreams: `<random>.svcdns-loop-probe.` for the default upstreams, and the same
    /// under each stub domain's zone, so each path is tried.
    public let probes: [Probe]
    private let loop = Locked<Probe?>(nil)
    /// Read on the forwarding path of every query: one relaxed load when there is no loop.
    private let looped = Atomic<Bool>(false)

    public struct Probe: Sendable, CustomStringConvertible {
        public let name: DomainName
        /// Who was asked: the upstreams it goes to, as the log and `/readyz` name them.
        public let upstreams: [Upstream]

        public var description: String {
            "\(name) to \(upstreams.map(\.description).joined(separator: ", ")) came back"
        }
    }

    public init(forwarder: Forwarder, random: UInt64 = UInt64.random(in: 0...UInt64.max)) {
        let label = "svcdns-loop-probe"
        let nonce = String(random, radix: 16)
        var probes: [Probe] = []
        if !forwarder.upstreams.isEmpty, let name = DomainName("\(nonce).\(label).") {
            probes.append(Probe(name: name, upstreams: forwarder.upstreams))
        }
        for stub in forwarder.stubDomains {
            if let name = stub.zone.prepending(label)?.prepending(nonce) {
                probes.append(Probe(name: name, upstreams: stub.upstreams))
            }
        }
        self.probes = probes
    }

    /// True once a loop was found: nothing is forwarded from then on.
    public var isRefusing: Bool { looped.load(ordering: .relaxed) }

    /// The loop found, if one was.
    public var found: Probe? { loop.withLock { $0 } }

    /// Called with each name about to be forwarded: true (and the loop recorded) when it is a probe of ours.
    func catches(_ name: DomainName) -> Bool {
        guard let probe = probes.first(where: { $0.name == name }) else { return false }
        loop.withLock { found in
            if found == nil { found = probe }
        }
        looped.store(true, ordering: .relaxed)
        return true
    }
}
