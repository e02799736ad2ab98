import CoreMetrics
import DNSMessage
import Foundation
import Locking
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `--query-log`: one JSON line per answered query on standard output, written off the query path.
///
/// The query path only copies the answer's header and question and the client's address into a slot of a
/// bounded ring (no allocation, no formatting, one short lock); a thread of its own empties the ring every
/// 50 ms, formats the lines and writes them. When the ring is full the entry is dropped and counted in
/// `svcdns_query_log_dropped_total`: an answer never waits for its log line.
public final class QueryLog: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        case off, all
        /// NXDOMAIN, and NOERROR with no answer (NODATA).
        case denial
        /// Every rcode but NOERROR and NXDOMAIN (SERVFAIL, REFUSED, FORMERR, NOTIMP, …).
        case error
    }

    public static let defaultQueueSize = 10_000
    public static let queueSizeRange = 100...1_000_000
    public static let sampleRange = 1...1_000_000
    /// The header, the longest name and the type and class: all of the question a line needs.
    static let questionBytes = 12 + 255 + 4

    private struct Entry {
        var peer = sockaddr_storage()
        var peerLength: socklen_t = 0
        var overTCP = false
        var size = 0
        var micros = 0
        var wallClock = timespec()
        var questionLength = 0
        /// `questionBytes` bytes of the answer, from its start.
        var question = [UInt8](repeating: 0, count: QueryLog.questionBytes)
    }

    private struct Ring {
        var entries: [Entry]
        var head = 0
        var count = 0
    }

    private let mode: Mode
    private let sample: Int
    private let ring: Locked<Ring>
    /// Queries the mode selected, for sampling: one relaxed atomic, not a lock, on the query path.
    private let seen = Atomic<Int>(0)
    private let dropped = Counter(label: "svcdns_query_log_dropped_total")
    private let output: @Sendable (String) -> Void

    /// `sample`: one line for every `sample` queries the mode selects. `output` takes each batch of lines
    /// (standard output by default).
    public init(
        mode: Mode, sample: Int = 1, queueSize: Int = QueryLog.defaultQueueSize,
        output: @escaping @Sendable (String) -> Void = QueryLog.standardOutput
    ) {
        self.mode = mode
        self.sample = max(1, sample)
        self.ring = Locked(Ring(entries: Array(repeating: Entry(), count: max(1, queueSize))))
        self.output = output
        if mode != .off { startWriter() }
    }

    public static let standardOutput: @Sendable (String) -> Void = { text in
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Whether `response` (a whole answer as sent) is one the mode logs; cheap, for the query path to ask first.
    func selects(_ response: UnsafeRawBufferPointer) -> Bool {
        guard mode != .off, response.count >= 12 else { return false }
        let rcode = response[3] & 0x0F
        let answers = UInt16(response[6]) << 8 | UInt16(response[7])
        switch mode {
        case .off: return false
        case .all: return true
        case .denial: return rcode == 3 || (rcode == 0 && answers == 0)
        case .error: return rcode != 0 && rcode != 3
        }
    }

    /// Queues the line of one answered query: `response` as sent to `peer` (a `sockaddr` of `peerLength`
    /// bytes), answered `started` ago.
    func record(
        _ response: UnsafeRawBufferPointer, peer: UnsafeRawPointer, peerLength: socklen_t, overTCP: Bool, started: NIODeadline
    ) {
        guard selects(response) else { return }
        if sample > 1 {
            guard seen.wrappingAdd(1, ordering: .relaxed).newValue % sample == 0 else { return }
        }
        let micros = Int((NIODeadline.now() - started).nanoseconds / 1000)
        var wallClock = timespec()
        clock_gettime(CLOCK_REALTIME, &wallClock)
        let length = min(response.count, Self.questionBytes)
        let kept = ring.withLock { ring -> Bool in
            guard ring.count < ring.entries.count else { return false }
            let at = (ring.head + ring.count) % ring.entries.count
            ring.count += 1
            let kept = min(peerLength, socklen_t(MemoryLayout<sockaddr_storage>.size))
            ring.entries[at].peerLength = kept
            withUnsafeMutableBytes(of: &ring.entries[at].peer) { storage in
                storage.copyMemory(from: UnsafeRawBufferPointer(start: peer, count: Int(kept)))
            }
            ring.entries[at].overTCP = overTCP
            ring.entries[at].size = response.count
            ring.entries[at].micros = micros
            ring.entries[at].wallClock = wallClock
            ring.entries[at].questionLength = length
            ring.entries[at].question.withUnsafeMutableBytes { bytes in
                bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: response[..<length]))
            }
            return true
        }
        if !kept { dropped.increment() }
    }

    /// As `record(_:peer:peerLength:overTCP:started:)` for an NIO address (TCP, forwarded answers).
    func record(_ response: UnsafeRawBufferPointer, peer: SocketAddress?, overTCP: Bool, started: NIODeadline) {
        guard selects(response), let peer else { return }
        peer.withSockAddr { address, length in
            record(response, peer: UnsafeRawPointer(address), peerLength: socklen_t(length), overTCP: overTCP, started: started)
        }
    }

    /// The writer ends with the log (the server's lifetime).
    private func startWriter() {
        let thread = Thread { [weak self] in
            while let log = self {
                let entries = log.ring.withLock { ring -> [Entry] in
                    var taken: [Entry] = []
                    taken.reserveCapacity(ring.count)
                    while ring.count > 0 {
                        var entry = ring.entries[ring.head]
                        // A copy of its own: the slot's bytes stay the ring's alone, so the query path writing the
                        // slot again never copies them.
                        entry.question = Array(entry.question[0..<entry.questionLength])
                        taken.append(entry)
                        ring.head = (ring.head + 1) % ring.entries.count
                        ring.count -= 1
                    }
                    return taken
                }
                if !entries.isEmpty { log.output(entries.map(Self.line).joined()) }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        thread.name = "svcdns-query-log"
        thread.start()
    }

    /// One entry as a JSON line.
    private static func line(_ entry: Entry) -> String {
        let bytes = entry.question
        guard bytes.count >= 12 else { return "" }
        let flags = bytes[2]
        let rcode = ResponseCode(rawValue: UInt16(bytes[3] & 0x0F))
        var name = ""
        var type = ""
        let questions = UInt16(bytes[4]) << 8 | UInt16(bytes[5])
        if questions > 0, let (text, end) = presentationName(bytes, length: entry.questionLength), end + 2 <= entry.questionLength {
            name = text
            type = RecordType(rawValue: UInt16(bytes[end]) << 8 | UInt16(bytes[end + 1])).description
        }
        let (address, port) = Self.address(entry)
        let time = Self.timestamp(entry.wallClock)
        return "{\"time\":\"\(time)\",\"client\":\"\(address)\",\"port\":\(port),"
            + "\"proto\":\"\(entry.overTCP ? "tcp" : "udp")\",\"name\":\"\(json(name))\",\"type\":\"\(type)\","
            + "\"rcode\":\"\(rcode)\",\"flags\":{\"aa\":\(flags & 0x04 != 0),\"tc\":\(flags & 0x02 != 0),"
            + "\"rd\":\(flags & 0x01 != 0),\"ra\":\(bytes[3] & 0x80 != 0)},\"size\":\(entry.size),"
            + "\"duration_us\":\(entry.micros)}\n"
    }

    /// The question's name in presentation form (RFC 1035 §5.1 escapes) and the offset after it; nil when it
    /// does not fit the bytes kept or is compressed (a question never is).
    static func presentationName(_ bytes: [UInt8], length: Int) -> (String, Int)? {
        var offset = 12
        var text = ""
        while offset < length {
            let count = Int(bytes[offset])
            offset += 1
            if count == 0 { return (text.isEmpty ? "." : text, offset) }
            guard count < 64, offset + count <= length else { return nil }
            for byte in bytes[offset..<(offset + count)] {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""):
                    text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7E:
                    text.unicodeScalars.append(UnicodeScalar(byte))
                default:
                    text += "\\" + String(format: "%03d", byte)
                }
            }
            text += "."
            offset += count
        }
        return nil
    }

    /// `text` inside a JSON string: backslashes and quotes escaped (the name has nothing else to escape).
    private static func json(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    private static func address(_ entry: Entry) -> (String, Int) {
        var peer = entry.peer
        let family = Int32(peer.ss_family)
        return withUnsafePointer(to: &peer) { pointer in
            switch family {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var copy = address.pointee.sin_addr
                    var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                    inet_ntop(AF_INET, &copy, &buffer, socklen_t(buffer.count))
                    return (Self.text(buffer), Int(UInt16(bigEndian: address.pointee.sin_port)))
                }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var copy = address.pointee.sin6_addr
                    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    inet_ntop(AF_INET6, &copy, &buffer, socklen_t(buffer.count))
                    return (Self.text(buffer), Int(UInt16(bigEndian: address.pointee.sin6_port)))
                }
            default:
                return ("", 0)
            }
        }
    }

    /// What `inet_ntop` wrote, up to its terminating zero.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// RFC 3339 in UTC with microseconds.
    private static func timestamp(_ time: timespec) -> String {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(time.tv_nsec / 1000)
        )
    }
}
