// PlanOrder: which registry change each Service's probe targets come from, so that plans applied out of order
// never put an older catalog's targets over a newer one's.

import ServiceModel

/// Plans are computed on the writers' threads from the catalog of a numbered registry change and reach the
/// checker's loop in any order. This keeps, per Service, the number of the change its targets were last set
/// from, and the number of the last plan that covered every Service.
struct PlanOrder {
    private var whole: UInt64 = 0
    /// Services set by a plan newer than `whole`. Entries at or below `arrived.complete` can no longer be
    /// overtaken (every plan still on its way is numbered above) and are dropped now and then, so this stays
    /// within the changes in flight rather than growing with every Service ever written.
    private var byService: [ObjectKey: UInt64] = [:]
    private var arrived = ChangeWindow()
    private var pruneAt = 1024

    /// Admits a plan of change `sequence` for `services` (nil: every Service). Returns the Services of the plan
    /// to leave as they are, because a newer change already set them; nil when nothing of the plan is newer
    /// than what was applied. Unnumbered plans (tests) are applied whole.
    mutating func admit(_ sequence: UInt64?, services: Set<ObjectKey>?) -> Set<ObjectKey>? {
        guard let sequence else { return [] }
        _ = arrived.receive(sequence, isWhole: services == nil)
        defer { prune() }
        guard let services else {
            guard sequence >= whole else { return nil }
            whole = sequence
            byService = byService.filter { $0.value > sequence }
            return Set(byService.keys)
        }
        var older: Set<ObjectKey> = []
        for service in services {
            if max(whole, byService[service] ?? 0) > sequence {
                older.insert(service)
            } else {
                byService[service] = sequence
            }
        }
        return older.count == services.count && !services.isEmpty ? nil : older
    }

    /// How many Services it holds a number for (for tests of the bound).
    var trackedServices: Int { byService.count }

    private mutating func prune() {
        guard byService.count >= pruneAt else { return }
        let complete = arrived.complete
        byService = byService.filter { $0.value > complete }
        pruneAt = max(1024, 2 * byService.count)
    }
}
