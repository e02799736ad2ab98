/// Values → wire. The last stage of the query path.
///
/// One encoder belongs to one event loop and is reused for every response it writes, so the
/// compression table and the output buffer keep their capacity and a response costs no allocation.
public struct ResponseEncoder {
    /// Offsets of every label start written so far in this message: the targets names may point to.
    private var compressionTargets: [Int] = []

    /// RFC 1035 §4.2.1: without EDNS a UDP message is at most 512 bytes.
    public static let classicUDPLimit = 512
    /// The EDNS buffer size svcdns advertises and caps UDP answers at: DNS Flag Day 2020's 1232, which
    /// fits the IPv6 minimum MTU and so avoids IP fragmentation.
    public static let advertisedUDPPayloadSize: UInt16 = 1232
    /// RFC 7766: a TCP message is limited only by its two-byte length prefix.
    public static let tcpLimit = 65535
    /// Past this offset a compression pointer cannot reach (14 bits).
    private static let maxPointerTarget = 0x3FFF
    /// Enough for every name of any realistic answer; past it names are simply written whole.
    private static let maxCompressionTargets = 64

    public init() {
        compressionTargets.reserveCapacity(Self.maxCompressionTargets)
    }

    /// The largest response a query may get: over UDP the smaller of the client's EDNS size (at least
    /// 512, RFC 6891 §6.2.5) and what svcdns advertises, or 512 without EDNS.
    public static func sizeLimit(for query: Query, overTCP: Bool) -> Int {
        if overTCP { return tcpLimit }
        guard let edns = query.edns else { return classicUDPLimit }
        return min(max(Int(edns.udpPayloadSize), classicUDPLimit), Int(advertisedUDPPayloadSize))
    }

    /// Writes `response` to `query` into `buffer` (replacing its contents), within `limit` bytes.
    ///
    /// Truncation drops whole RRsets from the end: an answer or authority RRset that does not fit ends
    /// the message with TC set; an additional RRset that does not fit is left out without TC (RFC 2181 §9).
    /// The question is echoed in the client's letter case. OPT is added only when the query had one.
    public mutating func encode(_ response: Response, to query: Query, limit: Int, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        compressionTargets.removeAll(keepingCapacity: true)
        let optSize = query.edns == nil ? 0 : 11
        let budget = limit - optSize

        writeHeader(id: query.id, flags: 0, into: &buffer)
        writeName(query.name, compress: true, into: &buffer)
        append16(query.type.rawValue, to: &buffer)
        append16(query.recordClass, to: &buffer)

        var truncated = false
        var counts: [UInt16] = [0, 0, 0]
        let sections = [response.answer, response.authority, response.additional]
        sectionLoop: for (index, section) in sections.enumerated() {
            for rrSet in section {
                let mark = buffer.count
                let targetsMark = compressionTargets.count
                let count = rrSet.presentedCount
                for position in 0..<count {
                    let rdata = rrSet.rdata[(rrSet.firstRecord + position) % rrSet.rdata.count]
                    writeRecord(owner: rrSet.owner, type: rrSet.type, ttl: rrSet.ttl, rdata: rdata, into: &buffer)
                }
                if buffer.count > budget {
                    buffer.removeSubrange(mark...)
                    compressionTargets.removeSubrange(targetsMark...)
                    if index < 2 { truncated = true }
                    break sectionLoop
                }
                counts[index] += UInt16(count)
            }
        }

        var additionalCount = counts[2]
        if let edns = query.edns {
            Self.writeOPT(rcode: response.rcode, dnssecOK: edns.dnssecOK, into: &buffer)
            additionalCount += 1
        }
        var flags: UInt16 = 0x8000 | UInt16(query.header.opcode) << 11 | (response.rcode.rawValue & 0x000F)
        if response.authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        flags |= query.header.flags & 0x0110  // RD and CD are copied (RFC 1035 §4.1.1, RFC 4035 §3.1.6)
        if response.recursionAvailable { flags |= 0x0080 }
        patch16(flags, at: 2, in: &buffer)
        patch16(1, at: 4, in: &buffer)
        patch16(counts[0], at: 6, in: &buffer)
        patch16(counts[1], at: 8, in: &buffer)
        patch16(additionalCount, at: 10, in: &buffer)
    }

    /// Writes a query, as svcdns sends one to an upstream: RD set, one question, and an OPT record
    /// advertising 1232 bytes with the client's DO bit (RFC 6891 §6.1.1), so signatures come back when asked.
    public static func encodeQuery(
        id: UInt16, name: DomainName, type: RecordType, dnssecOK: Bool, into buffer: inout [UInt8]
    ) {
        buffer.removeAll(keepingCapacity: true)
        writeHeader(id: id, flags: 0x0100, into: &buffer)
        patch16(1, at: 4, in: &buffer)
        patch16(1, at: 10, in: &buffer)
        buffer.append(contentsOf: name.wire)
        append16(type.rawValue, to: &buffer)
        append16(RecordClass.internet, to: &buffer)
        writeOPT(rcode: .noError, dnssecOK: dnssecOK, into: &buffer)
    }

    /// Writes an error response (FORMERR, NOTIMP) with no question, for a query that could not be used.
    /// `edns` adds an OPT record: RFC 6891 §7 wants one in the answer to every request that had one.
    public static func encodeError(_ rcode: ResponseCode, header: QueryHeader, edns: EDNS? = nil, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        let flags: UInt16 = 0x8000 | (header.flags & 0x7900) | (rcode.rawValue & 0x000F)
        writeHeader(id: header.id, flags: flags, into: &buffer)
        if let edns {
            writeOPT(rcode: rcode, dnssecOK: edns.dnssecOK, into: &buffer)
            patch16(1, at: 10, in: &buffer)
        }
    }

    private static func writeHeader(id: UInt16, flags: UInt16, into buffer: inout [UInt8]) {
        append16(id, to: &buffer)
        append16(flags, to: &buffer)
        buffer.append(contentsOf: repeatElement(0, count: 8))
    }

    private func writeHeader(id: UInt16, flags: UInt16, into buffer: inout [UInt8]) {
        Self.writeHeader(id: id, flags: flags, into: &buffer)
    }

    private mutating func writeRecord(
        owner: DomainName, type: RecordType, ttl: UInt32, rdata: RData, into buffer: inout [UInt8]
    ) {
        writeName(owner, compress: true, into: &buffer)
        append16(type.rawValue, to: &buffer)
        append16(RecordClass.internet, to: &buffer)
        append32(ttl, to: &buffer)
        let lengthAt = buffer.count
        append16(0, to: &buffer)
        switch rdata {
        case .a(let address):
            buffer.append(address.b0)
            buffer.append(address.b1)
            buffer.append(address.b2)
            buffer.append(address.b3)
        case .aaaa(let address):
            append64(address.high, to: &buffer)
            append64(address.low, to: &buffer)
        case .cname(let name), .ns(let name), .ptr(let name):
            writeName(name, compress: true, into: &buffer)
        case .mx(let preference, let exchange):
            append16(preference, to: &buffer)
            writeName(exchange, compress: true, into: &buffer)
        case .soa(let soa):
            writeName(soa.mname, compress: true, into: &buffer)
            writeName(soa.rname, compress: true, into: &buffer)
            append32(soa.serial, to: &buffer)
            append32(soa.refresh, to: &buffer)
            append32(soa.retry, to: &buffer)
            append32(soa.expire, to: &buffer)
            append32(soa.minimum, to: &buffer)
        case .srv(let priority, let weight, let port, let target):
            append16(priority, to: &buffer)
            append16(weight, to: &buffer)
            append16(port, to: &buffer)
            writeName(target, compress: false, into: &buffer)
        case .txt(let strings):
            for string in strings {
                buffer.append(UInt8(string.count))
                buffer.append(contentsOf: string)
            }
        case .opaque(let bytes):
            buffer.append(contentsOf: bytes)
        }
        patch16(UInt16(buffer.count - lengthAt - 2), at: lengthAt, in: &buffer)
    }

    /// RFC 6891 §6.1.2–6.1.3: owner root, class = our buffer size, TTL = extended rcode, version 0, DO.
    private static func writeOPT(rcode: ResponseCode, dnssecOK: Bool, into buffer: inout [UInt8]) {
        buffer.append(0)
        append16(RecordType.opt.rawValue, to: &buffer)
        append16(Self.advertisedUDPPayloadSize, to: &buffer)
        let ttl = UInt32(rcode.rawValue >> 4) << 24 | (dnssecOK ? 0x8000 : 0)
        append32(ttl, to: &buffer)
        append16(0, to: &buffer)
    }

    /// Writes `name`, ending in a pointer to the longest suffix already in the message when `compress` is set.
    private mutating func writeName(_ name: DomainName, compress: Bool, into buffer: inout [UInt8]) {
        let wire = name.wire
        var suffixStart = 0
        var pointer: Int? = nil
        if compress {
            search: while wire[suffixStart] != 0 {
                for target in compressionTargets where Self.nameAt(target, in: buffer, equals: wire, from: suffixStart) {
                    pointer = target
                    break search
                }
                suffixStart += Int(wire[suffixStart]) + 1
            }
        }
        let end = pointer == nil ? wire.count - 1 : suffixStart
        var labelStart = 0
        while labelStart < end {
            let offset = buffer.count + labelStart
            if offset <= Self.maxPointerTarget && compressionTargets.count < Self.maxCompressionTargets {
                compressionTargets.append(offset)
            }
            labelStart += Int(wire[labelStart]) + 1
        }
        buffer.append(contentsOf: wire[0..<end])
        if let pointer {
            append16(0xC000 | UInt16(pointer), to: &buffer)
        } else {
            buffer.append(0)
        }
    }

    /// Compares the (possibly compressed) name at `offset` of our own output with `wire[start...]`, case folded.
    private static func nameAt(_ offset: Int, in buffer: [UInt8], equals wire: [UInt8], from start: Int) -> Bool {
        var position = offset
        var index = start
        while true {
            var length = buffer[position]
            while length & 0xC0 == 0xC0 {
                position = Int(length & 0x3F) << 8 | Int(buffer[position + 1])
                length = buffer[position]
            }
            guard length == wire[index] else { return false }
            if length == 0 { return true }
            for step in 1...Int(length) where asciiLowercased(buffer[position + step]) != asciiLowercased(wire[index + step]) {
                return false
            }
            position += Int(length) + 1
            index += Int(length) + 1
        }
    }
}

@inline(__always)
private func append16(_ value: UInt16, to buffer: inout [UInt8]) {
    buffer.append(UInt8(truncatingIfNeeded: value >> 8))
    buffer.append(UInt8(truncatingIfNeeded: value))
}

@inline(__always)
private func append32(_ value: UInt32, to buffer: inout [UInt8]) {
    append16(UInt16(truncatingIfNeeded: value >> 16), to: &buffer)
    append16(UInt16(truncatingIfNeeded: value), to: &buffer)
}

@inline(__always)
private func append64(_ value: UInt64, to buffer: inout [UInt8]) {
    append32(UInt32(truncatingIfNeeded: value >> 32), to: &buffer)
    append32(UInt32(truncatingIfNeeded: value), to: &buffer)
}

@inline(__always)
private func patch16(_ value: UInt16, at offset: Int, in buffer: inout [UInt8]) {
    buffer[offset] = UInt8(truncatingIfNeeded: value >> 8)
    buffer[offset + 1] = UInt8(truncatingIfNeeded: value)
}
