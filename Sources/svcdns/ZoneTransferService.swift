import Authority
import Dispatch
import Logging
import Server
import ServiceLifecycle

/// Keeps the version secondaries transfer in step with what svcdns serves (`--transfer-to`, `--notify`): each
/// published snapshot is recorded into the journal, and every zone whose serial changed gets a NOTIFY. The first
/// change after a quiet second goes out at once; later ones are gathered, at most one recording (and so one NOTIFY
/// per zone) a second.
struct ZoneTransferService: Service {
    let snapshots: SnapshotStore
    let journal: TransferJournal
    let notifier: NotifySender?
    let logger: Logger
    /// How often the published snapshot is looked at: the delay added to a NOTIFY after a quiet second.
    var poll: Duration = .milliseconds(20)
    var gap: Duration = .seconds(1)

    private static let recordQueue = DispatchQueue(label: "svcdns.transfer-journal")

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var recordedGeneration: UInt64? = nil
            var recordedAt = ContinuousClock.now - gap
            while !Task.isCancelled {
                let snapshot = snapshots.load()
                if snapshot.generation != recordedGeneration && ContinuousClock.now - recordedAt >= gap {
                    recordedAt = ContinuousClock.now
                    recordedGeneration = snapshot.generation
                    await record(snapshot)
                }
                try? await Task.sleep(for: poll)
            }
        }
    }

    /// Diffs the zones on a queue of their own: a zone rebuilt whole is walked name by name, which must not hold
    /// a thread of Swift's cooperative pool.
    private func record(_ snapshot: Snapshot) async {
        let recording = await withCheckedContinuation { (done: CheckedContinuation<TransferJournal.Recording, Never>) in
            Self.recordQueue.async { done.resume(returning: journal.record(snapshot)) }
        }
        for zone in recording.unchangedSerials {
            logger.warning(
                "a zone's records changed but its SOA serial did not grow: secondaries keep the old version",
                metadata: ["zone": "\(zone)"])
        }
        guard let notifier else { return }
        for (apex, soa) in recording.changedZones {
            notifier.notify(apex: apex, soa: soa)
        }
    }
}
