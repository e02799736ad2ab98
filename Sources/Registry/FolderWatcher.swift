import CoreMetrics
import Locking
import Logging
import ServiceLifecycle
import UnixSignals

/// Keeps the registry in step with the `zones/` folder while svcdns runs: looks for changed files every
/// `interval` and at once on SIGHUP, and hands every change on. A bad edit is logged with the file and
/// field, counted in `svcdns_reload_errors_total`, and the file's last good data stays in service.
public final class FolderWatcher: ServiceLifecycle.Service, Sendable {
    public let source: FolderSource
    public let interval: Duration
    private let state: Locked<FolderState>
    private let logger: Logger
    private let onChange: @Sendable (FolderContents) -> Void
    private let reloadErrors = Counter(label: "svcdns_reload_errors_total")
    /// How often a folder with a file still being written is looked at.
    static let settlingCheck: Duration = .milliseconds(100)

    /// `state` is what startup read, so the first pass only sees what changed after it.
    public init(
        source: FolderSource, state: FolderState, interval: Duration = .seconds(1), logger: Logger,
        onChange: @escaping @Sendable (FolderContents) -> Void
    ) {
        self.source = source
        self.state = Locked(state)
        self.interval = interval
        self.logger = logger
        self.onChange = onChange
    }

    /// Reads what changed now; returns the contents when anything did.
    @discardableResult
    public func reload(reason: String) -> FolderContents? {
        let (contents, changed) = state.withLock { $0.refresh(source) }
        for problem in contents.problems {
            reloadErrors.increment()
            logger.error(
                "zones: a file has a problem; its last good data stays in service",
                metadata: ["zones.file": "\(problem.file)", "error": "\(problem)"]
            )
        }
        guard changed else { return nil }
        logger.info("zones reloaded", metadata: ["zones.reason": "\(reason)", "registry.summary": "\(contents.summary)"])
        onChange(contents)
        return contents
    }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() {
                    self.reload(reason: "SIGHUP")
                }
            }
            group.addTask {
                var waited = Duration.zero
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    // A file left for later because it was still being written (by a pass of either kind) is
                    // looked at again within 100 ms of settling, whatever the interval.
                    let step = min(self.interval, Self.settlingCheck)
                    try? await Task.sleep(for: step)
                    waited += step
                    if waited >= self.interval || self.state.withLock({ $0.isSettling }) {
                        waited = .zero
                        self.reload(reason: "changed files")
                    }
                }
            }
            await withGracefulShutdownHandler {
                try? await gracefulShutdown()
            } onGracefulShutdown: {}
            group.cancelAll()
        }
    }
}
