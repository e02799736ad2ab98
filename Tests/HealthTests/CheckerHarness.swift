// CheckerHarness: a running HealthChecker, with its onChange calls recorded, for one test.

import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceModel

@testable import Health

/// What a test gets: the checker (already running), what it reported, and a loop group for the test's servers.
struct CheckerHarness {
    var checker: HealthChecker
    var changes: ChangeRecorder
    /// For listeners and servers, so that they never share the checker's loop.
    var serverGroup: any EventLoopGroup
}

/// Runs `body` with a running checker; stops it (and waits for `run()` to return) and shuts the servers' loop down
/// after, also when `body` throws.
func withChecker<T>(
    defaults: HealthDefaults,
    maxConcurrentProbes: Int = 256,
    logger: Logger = Logger(label: "svcdns.health.test", factory: { _ in SwiftLogNoOpLogHandler() }),
    _ body: (CheckerHarness) async throws -> T
) async throws -> T {
    let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let changes = ChangeRecorder()
    let checker = try HealthChecker(
        defaults: defaults, maxConcurrentProbes: maxConcurrentProbes, logger: logger,
        onChange: { changes.record($0, $1) }
    )
    let harness = CheckerHarness(checker: checker, changes: changes, serverGroup: serverGroup)
    let outcome: Result<T, any Error>
    do {
        let value = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await checker.run() }
            let result: Result<T, any Error>
            do {
                // The body's updates then meet a running checker, whatever order the loop would run them in.
                var polls = 0
                while await !checker.probeCounts().isRunning, polls < 500 {
                    polls += 1
                    try await Task.sleep(for: .milliseconds(10))
                }
                result = .success(try await body(harness))
            } catch {
                result = .failure(error)
            }
            // Cancelling run() stops the checker; waiting for it proves that it stops.
            tasks.cancelAll()
            try await tasks.waitForAll()
            return try result.get()
        }
        outcome = .success(value)
    } catch {
        outcome = .failure(error)
    }
    try? await serverGroup.shutdownGracefully()
    return try outcome.get()
}

/// Every `onChange` call, in order. Safe from any thread.
final class ChangeRecorder: Sendable {
    struct Call: Sendable {
        var verdicts: HealthVerdicts
        var transitions: [HealthTransition]
    }

    private let box = NIOLockedValueBox<[Call]>([])

    func record(_ verdicts: HealthVerdicts, _ transitions: [HealthTransition]) {
        box.withLockedValue { $0.append(Call(verdicts: verdicts, transitions: transitions)) }
    }

    var calls: [Call] { box.withLockedValue { $0 } }

    /// The verdicts of the last call; empty before the first.
    var latest: HealthVerdicts { box.withLockedValue { $0.last?.verdicts ?? HealthVerdicts() } }

    /// Every transition so far, in order.
    var transitions: [HealthTransition] { box.withLockedValue { $0.flatMap(\.transitions) } }

    func state(of id: EndpointID) -> EndpointHealth? { latest.states[id] }
}

/// Checks `condition` every 10 ms until it holds or `limit` has passed. Returns how long it took, or nil when it
/// never held: bounded in time, and so in the number of checks.
func eventually(within limit: Duration, _ condition: () -> Bool) async -> Duration? {
    let clock = ContinuousClock()
    let start = clock.now
    while true {
        if condition() {
            return clock.now - start
        }
        if clock.now - start >= limit {
            return nil
        }
        try? await Task.sleep(for: .milliseconds(10))
    }
}
