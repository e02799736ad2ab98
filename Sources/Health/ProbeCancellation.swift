// ProbeCancellation: the handle through which the checker closes a probe's connection when it stops.

import NIOCore

/// Closes one probe's connection on request. Loop-bound: create, attach and cancel on the probe's event loop.
///
/// The channel is attached in the bootstrap's initializer, before the connect starts, so that cancelling also
/// aborts a connect still in progress (closing the channel fails its connect).
final class ProbeCancellation {
    private var channel: (any Channel)?
    private(set) var isCancelled = false

    init() {}

    /// Takes the probe's channel; closes it at once when the probe was already cancelled.
    func attach(_ channel: any Channel) {
        if isCancelled {
            channel.close(promise: nil)
        } else {
            self.channel = channel
        }
    }

    /// Closes the probe's channel, if it has one; any later `attach` closes at once.
    func cancel() {
        isCancelled = true
        channel?.close(promise: nil)
        channel = nil
    }
}

@available(*, unavailable)
extension ProbeCancellation: Sendable {}
