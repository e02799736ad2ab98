// ScriptedProber: a prober with no sockets, whose results and timing the test decides.

import NIOConcurrencyHelpers
import NIOCore
import ServiceModel

@testable import Health

/// Answers probes from a script: healthy unless told otherwise, at once unless holding, in which case each probe
/// waits until the test releases it. Counts the probes of each endpoint.
final class ScriptedProber: Prober, Sendable {
    private struct State {
        var results: [EndpointID: ProbeResult] = [:]
        var probes: [EndpointID: Int] = [:]
        var probedPorts: [EndpointID: [Int]] = [:]
        var holding = false
        var held: [(EndpointID, EventLoopPromise<ProbeResult>)] = []
    }

    private let state = NIOLockedValueBox(State())

    init(holding: Bool = false) {
        state.withLockedValue { $0.holding = holding }
    }

    func probe(
        _ target: ProbeTarget, on eventLoop: any EventLoop, cancellation: ProbeCancellation
    ) -> EventLoopFuture<ProbeResult> {
        let id = target.endpoint
        let promise = eventLoop.makePromise(of: ProbeResult.self)
        let answer: ProbeResult? = state.withLockedValue { state in
            state.probes[id, default: 0] += 1
            state.probedPorts[id, default: []].append(target.port)
            if state.holding {
                state.held.append((id, promise))
                return nil
            }
            return state.results[id] ?? .healthy
        }
        if let answer {
            promise.succeed(answer)
        }
        return promise.futureResult
    }

    func setResult(_ result: ProbeResult, for id: EndpointID) {
        state.withLockedValue { $0.results[id] = result }
    }

    func probeCount(_ id: EndpointID) -> Int {
        state.withLockedValue { $0.probes[id] ?? 0 }
    }

    func probedPorts(_ id: EndpointID) -> [Int] {
        state.withLockedValue { $0.probedPorts[id] ?? [] }
    }

    var heldCount: Int { state.withLockedValue { $0.held.count } }

    /// Completes up to `count` held probes, oldest first, with their scripted results.
    func release(_ count: Int) {
        let released = state.withLockedValue { state in
            let taken = state.held.prefix(count).map { ($0.1, state.results[$0.0] ?? .healthy) }
            state.held.removeFirst(min(count, state.held.count))
            return taken
        }
        for (promise, result) in released {
            promise.succeed(result)
        }
    }

    /// Stops holding and completes every held probe, so that the checker can stop.
    func releaseAll() {
        state.withLockedValue { $0.holding = false }
        release(Int.max)
    }
}
