import ArgumentParser
import Forwarding
import Foundation
import Logging
import NIOCore
import Server
import ServiceModel

extension Serve {
    /// The upstreams and who may use them; nil when names outside the zones are refused.
    func forwardingPolicy(listen: [ListenAddress], logger: Logger) throws -> ForwardingPolicy? {
        var upstreams: [Upstream]
        if upstream == ["none"] {
            return nil
        } else if !upstream.isEmpty {
            upstreams = upstream.compactMap(Upstream.init)
        } else {
            guard let text = try? String(contentsOfFile: resolvConf, encoding: .utf8) else {
                throw ValidationError("--resolv-conf \(resolvConf) cannot be read; name upstreams with --upstream, or --upstream none")
            }
            upstreams = ResolvConf.nameservers(in: text)
        }
        // Forwarding to itself would loop until every query times out.
        upstreams.removeAll { upstream in listen.contains { Self.isSelf(upstream, listening: $0) } }
        guard !upstreams.isEmpty else {
            logger.warning("no upstream to forward to: names outside the zones are refused")
            return nil
        }
        logger.info("forwarding names outside the zones", metadata: ["upstream.address": "\(upstreams.map(\.description))"])
        let forwarder = Forwarder(
            upstreams: upstreams, cache: ResponseCache(
                capacity: cacheSize, maxTTL: cacheMaxTtl, maxBytes: Self.parseSize(cacheMemory) ?? ResponseCache.defaultMaxBytes,
                policy: CachePolicy(
                    serveStale: Self.parseSeconds(serveStale) ?? 0, prefetchAfter: prefetch,
                    servfailLifetime: Self.parseSeconds(cacheServfail) ?? 0)
            ),
            timeout: TimeAmount(HealthCheckOverrides.parseDuration(upstreamTimeout)!), logger: Logger(label: "svcdns.forward")
        )
        let allowed = allowRecursion.isEmpty ? IPNetwork.privateNetworks : allowRecursion.compactMap(IPNetwork.init)
        return ForwardingPolicy(forwarder: forwarder, allowRecursion: allowed)
    }

    static func isSelf(_ upstream: Upstream, listening address: ListenAddress) -> Bool {
        guard upstream.address.port == address.port, let upstreamIP = upstream.address.ipAddress.flatMap({ IPAddress($0) }),
            let listenIP = IPAddress(address.host)
        else { return false }
        if listenIP == upstreamIP { return true }
        // A wildcard listener answers on every local address; loopback ones at least are certainly ours.
        let wildcard = listenIP == IPAddress("0.0.0.0") || listenIP == IPAddress("::")
        return wildcard && (IPNetwork("127.0.0.0/8")!.contains(upstreamIP) || upstreamIP == IPAddress("::1"))
    }
}
