import Authority
import DNSMessage
import ServiceModel

/// Who may transfer zones (`--transfer-to`), and the versions they transfer.
public struct TransferPolicy: Sendable {
    public let journal: TransferJournal
    public let allowed: [IPNetwork]

    public init(journal: TransferJournal, allowed: [IPNetwork]) {
        self.journal = journal
        self.allowed = allowed
    }

    func allows(_ client: IPAddress?) -> Bool {
        guard let client else { return false }
        return allowed.contains { $0.contains(client) }
    }
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

    init(query: Query, records: TransferRecords) {
        self.query = query
        self.records = records
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
