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
        // Forwarding to itself would loop until every query times out.
        func notSelf(_ upstream: Upstream) -> Bool { !listen.contains { Self.isSelf(upstream, listening: $0) } }
        let stubs = try parsedStubDomains().compactMap { stub -> StubDomain? in
            let kept = stub.upstreams.filter(notSelf)
            guard !kept.isEmpty else {
                logger.warning("stub domain's upstreams are all svcdns itself: its names go to the default upstreams", metadata: ["forward.zone": "\(stub.zone)"])
                return nil
            }
            return StubDomain(zone: stub.zone, upstreams: kept)
        }
        if upstream == ["none"] {
            guard !stubs.isEmpty else { return nil }
            upstreams = []
        } else if !upstream.isEmpty {
            upstreams = upstream.compactMap(Upstream.init)
        } else {
            guard let text = try? String(contentsOfFile: resolvConf, encoding: .utf8) else {
                throw ValidationError("--resolv-conf \(resolvConf) cannot be read; name upstreams with --upstream, or --upstream none")
            }
            upstreams = ResolvConf.nameservers(in: text)
        }
        upstreams.removeAll { !notSelf($0) }
        guard !upstreams.isEmpty || !stubs.isEmpty else {
            logger.warning("no upstream to forward to: names outside the zones are refused")
            return nil
        }
        if upstreams.isEmpty {
            logger.info("no default upstream: only names in the stub domains are forwarded")
        } else {
            logger.info("forwarding names outside the zones", metadata: ["upstream.address": "\(upstreams.map(\.description))"])
        }
        for stub in stubs {
            logger.info("forwarding a stub domain", metadata: ["forward.zone": "\(stub.zone)", "upstream.address": "\(stub.upstreams.map(\.description))"])
        }
        let forwarder = Forwarder(
            upstreams: upstreams, stubDomains: stubs, cache: ResponseCache(
                capacity: cacheSize, maxTTL: cacheMaxTtl, maxBytes: Self.parseSize(cacheMemory) ?? ResponseCache.defaultMaxBytes,
                policy: CachePolicy(
                    serveStale: Self.parseSeconds(serveStale) ?? 0, prefetchAfter: prefetch,
                    servfailLifetime: Self.parseSeconds(cacheServfail) ?? 0)
            ),
            timeout: TimeAmount(HealthCheckOverrides.parseDuration(upstreamTimeout)!), logger: Logger(label: "svcdns.forward")
        )
        return ForwardingPolicy(forwarder: forwarder, allowRecursion: recursionClients, filtersAAAA: filterAaaa)
    }

    /// `--allow-recursion`, parsed: the clients that may use forwarding, and whose EDNS Client Subnet is believed.
    var recursionClients: [IPNetwork] {
        allowRecursion.isEmpty ? IPNetwork.privateNetworks : allowRecursion.compactMap(IPNetwork.init)
    }

    /// `--forward`, parsed; a malformed one, or a zone given twice, is a usage error naming it.
    func parsedStubDomains() throws -> [StubDomain] {
        guard stubDomains.count <= Self.maxStubDomains else {
            throw ValidationError("--forward given \(stubDomains.count) times, at most \(Self.maxStubDomains)")
        }
        var parsed: [StubDomain] = []
        for text in stubDomains {
            let stub: StubDomain
            do {
                stub = try StubDomain(parsing: text)
            } catch {
                throw ValidationError("--forward \(text): \(error)")
            }
            if parsed.contains(where: { $0.zone == stub.zone }) {
                throw ValidationError("--forward \(text): the zone \(stub.zone) is given twice")
            }
            parsed.append(stub)
        }
        return parsed
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
