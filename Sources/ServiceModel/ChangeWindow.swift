/// Which numbered registry changes have arrived, when they may arrive out of order: all up to some number,
/// and a few past a gap. Its size is bounded by the changes in flight at once (one per concurrent writer).
public struct ChangeWindow: Sendable {
    /// The highest number that arrived.
    public private(set) var newest: UInt64 = 0
    /// Every change up to this number arrived, or was covered by a whole catalog: any change still on its
    /// way is numbered above it.
    public private(set) var complete: UInt64 = 0
    /// Numbers past `complete + 1` that arrived early.
    private var early: Set<UInt64> = []

    public init() {}

    /// True while a change older than `newest` is still on its way.
    public var isWaiting: Bool { complete < newest }

    /// Records that change `sequence` arrived; true when its catalog is the one to keep: the newest so far, or
    /// the same number again (the same registry state). A change that rebuilds everything (`isWhole`) covers
    /// every change before it, arrived or not: a build from its catalog owes those nothing. Nil means
    /// unnumbered, kept as it arrives.
    public mutating func receive(_ sequence: UInt64?, isWhole: Bool) -> Bool {
        guard let sequence else { return true }
        if isWhole && sequence >= newest {
            complete = max(complete, sequence)
            early = early.filter { $0 > complete }
        }
        if sequence > complete {
            early.insert(sequence)
        }
        while early.remove(complete + 1) != nil { complete += 1 }
        guard sequence >= newest else { return false }
        newest = sequence
        return true
    }
}
