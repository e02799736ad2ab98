// TCPProber: one TCP connect to an endpoint's health port; connected means healthy.

import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Probes by connecting; the connection is closed as soon as it is up.
struct TCPProber: Prober {
    func probe(
        _ target: ProbeTarget, on eventLoop: any EventLoop, cancellation: ProbeCancellation
    ) -> EventLoopFuture<ProbeResult> {
        let address: SocketAddress
        do {
            address = try SocketAddress(target)
        } catch {
            return eventLoop.makeSucceededFuture(.unhealthy(reason: "\(error)"))
        }
        let boundCancellation = NIOLoopBound(cancellation, eventLoop: eventLoop)
        let timeout = target.timeout
        return ClientBootstrap(group: eventLoop)
            // The connect is the whole probe, so its timeout is the probe's.
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                boundCancellation.value.attach(channel)
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .connect(to: address)
            .map { channel -> ProbeResult in
                Self.closeWithReset(channel)
                return .healthy
            }
            .recover { error in .unhealthy(reason: ProbeFailure.reason(for: error, timeout: timeout)) }
    }

    /// Closes with an RST (SO_LINGER 0) rather than a FIN: the side that closes first keeps each connection in
    /// TIME_WAIT for a minute, and thousands of endpoints probed every second would fill the table with them.
    private static func closeWithReset(_ channel: any Channel) {
        guard let options = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

extension SocketAddress {
    /// The socket address a target is probed at: its endpoint address and health port.
    init(_ target: ProbeTarget) throws {
        try self.init(ipAddress: target.endpoint.address.description, port: target.port)
    }
}
