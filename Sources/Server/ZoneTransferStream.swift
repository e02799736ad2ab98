import Authority
import DNSMessage
import ServiceModel
import Synchronization

/// Who may transfer zones (`--transfer-to`), the versions they transfer, and how many transfers go at once.
public struct TransferPolicy: Sendable {
    public let journal: TransferJournal
    public let allowed: [IPNetwork]
    let slots: TransferSlots

    /// As BIND's `transfers-out`.
    public static let defaultMaxConcurrent = 10
    public static let maxConcurrentRange = 1...1000

    public init(journal: TransferJournal, allowed: [IPNetwork], maxConcurrent: Int = defaultMaxConcurrent) {
        self.journal = journal
        self.allowed = allowed
        self.slots = TransferSlots(limit: maxConcurrent)
    }

    func allows(_ client: IPAddress?) -> Bool {
        guard let client else { return false }
        return allowed.contains { $0.contains(client) }
    }
}

/// The transfers being written, across every connection, within `--max-transfers`. A transfer walks the snapshot
/// it started from, so each one under way keeps that version of the registry alive: the TCP connection caps alone
/// would let thousands of slow secondaries pin as many versions.
final class TransferSlots: Sendable {
    let limit: Int
    private let taken = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = max(limit, 1)
    }

    /// A slot, or nil when all are taken. It is given back when the last copy of it goes.
    func take() -> TransferSlot? {
        var current = taken.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = taken.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return TransferSlot(of: self) }
            current = original
        }
        return nil
    }

    fileprivate func giveBack() {
        taken.subtract(1, ordering: .acquiringAndReleasing)
    }
}

/// One transfer's place among `--max-transfers`: the stream holds it from the answer's first message to its end.
public final class TransferSlot: Sendable {
    private let slots: TransferSlots

    fileprivate init(of slots: TransferSlots) {
        self.slots = slots
    }

    deinit { slots.giveBack() }
}

/// One AXFR or IXFR answer as the messages it goes out in (RFC 5936 §2.2): each holds as many of the transfer's
/// records as fit in `messageSize` bytes, and every one repeats the question, with AA set. An RRset may be split
/// between messages; its records stay in order.
///
/// The records are pulled from the snapshot as the messages are written, so a transfer holds one message and a
/// few RRsets, whatever the zone's size.
public struct ZoneTransferStream {
    private let query: Query
    private var records: TransferRecords
    /// Held while the stream lives, so the transfer counts against `--max-transfers` until it is dropped.
    private let slot: TransferSlot
    /// RRsets taken from `records` and not yet sent whole, with how many of their records went out already.
    private var pending: [(set: RRSet, sent: Int)] = []
    private var pendingRecords = 0
    private var exhausted = false
    /// True when a record fit no message: the transfer stopped short.
    package private(set) var failed = false

    /// Well under 64 KiB, and within reach of a compression pointer (14 bits), so every name can be compressed.
    static let messageSize = 16 * 1024
    /// Enough records to fill a message with the smallest ones (a compressed A record is 16 bytes).
    static let recordsPerMessage = messageSize / 11

    /// AXFR or IXFR.
    var type: RecordType { query.type }

    init(query: Query, records: TransferRecords, slot: TransferSlot) {
        self.query = query
        self.records = records
        self.slot = slot
    }

    /// Writes the next message into `output`; false when the transfer is complete (or a record fits no message:
    /// the transfer cannot go on, and the connection should close).
    package mutating func nextMessage(into output: inout [UInt8]) -> Bool {
        while !exhausted && pendingRecords < Self.recordsPerMessage {
            guard let set = records.next() else {
                exhausted = true
                break
            }
            guard set.recordCount > 0 else { continue }
            pending.append((set, 0))
            pendingRecords += set.recordCount
        }
        guard !pending.isEmpty else { return false }
        let answer = pending.map { entry in
            var presented = entry.set
            presented.firstRecord = entry.sent
            presented.recordLimit = entry.set.recordCount - entry.sent
            return presented
        }
        var written = 0
        for limit in [Self.messageSize, ResponseEncoder.tcpLimit] {
            ResponseEncoder.encode(.response(Response(authoritative: true, answer: answer), to: query), limit: limit, into: &output)
            written = Int(output[6]) << 8 | Int(output[7])
            if written > 0 { break }
        }
        guard written > 0 else {
            failed = true
            return false
        }
        // What did not fit is not truncation: it goes in the next message.
        output[2] &= ~0x02
        consume(written)
        return true
    }

    /// Drops the first `count` pending records, which went out.
    private mutating func consume(_ count: Int) {
        var left = count
        var done = 0
        while left > 0 && done < pending.count {
            let remaining = pending[done].set.recordCount - pending[done].sent
            if remaining <= left {
                left -= remaining
                done += 1
            } else {
                pending[done].sent += left
                left = 0
            }
        }
        pending.removeFirst(done)
        pendingRecords -= count
    }
}
