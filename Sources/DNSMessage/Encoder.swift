/// The opcodes svcdns writes besides QUERY.
public enum Opcode {
    /// RFC 1996: a primary tells its secondaries that a zone changed.
    public static let notify: UInt8 = 4
}

/// What the server sends back to one request: a response to a query it could read, or an error
/// (FORMERR, NOTIMP) with no question, to one it could not use.
public enum OutgoingMessage: Sendable {
    case response(Response, to: Query)
    /// `edns` adds an OPT record: RFC 6891 §7 wants one in the answer to every request that had one.
    case error(ResponseCode, header: QueryHeader, edns: EDNS?)
}

/// Values → wire. The last stage of the query path, and its one way out: every message svcdns answers
/// with goes through `encode(_:limit:into:)`, into a growable array or into fixed memory.
///
/// Encoding allocates nothing of its own: the compression table lives on the stack for one message, and
/// the message goes into the caller's array (which keeps its capacity between messages) or straight into
/// the caller's fixed memory (a UDP worker's send slot).
public enum ResponseEncoder {
    /// RFC 1035 §4.2.1: without EDNS a UDP message is at most 512 bytes.
    public static let classicUDPLimit = 512
    /// The EDNS buffer size svcdns advertises and caps UDP answers at: DNS Flag Day 2020's 1232, which
    /// fits the IPv6 minimum MTU and so avoids IP fragmentation.
    public static let advertisedUDPPayloadSize: UInt16 = 1232
    /// RFC 7766: a TCP message is limited only by its two-byte length prefix.
    public static let tcpLimit = 65535

    /// The largest response a query may get: over UDP the smaller of the client's EDNS size (at least
    /// 512, RFC 6891 §6.2.5) and what svcdns advertises, or 512 without EDNS.
    public static func sizeLimit(for query: Query, overTCP: Bool) -> Int {
        if overTCP { return tcpLimit }
        guard let edns = query.edns else { return classicUDPLimit }
        return min(max(Int(edns.udpPayloadSize), classicUDPLimit), Int(advertisedUDPPayloadSize))
    }

    /// Writes `message` into `buffer` (replacing its contents), within `limit` bytes.
    ///
    /// Truncation (RFC 2181 §9): an answer that does not fit keeps as many whole records as fit, in the
    /// order the RRsets present them, and sets TC; authority and additional records are dropped first. An
    /// authority RRset that does not fit sets TC; an additional RRset that does not fit is left out without TC.
    /// The question is echoed in the client's letter case. OPT is added only when the query had one.
    /// An error message is a header and at most an OPT record: it always fits.
    public static func encode(_ message: OutgoingMessage, limit: Int, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        withUnsafeMutablePointer(to: &buffer) { bytes in
            var sink = ArraySink(bytes)
            MessageWriter.write(message, limit: limit, into: &sink)
        }
    }

    /// As `encode(_:limit:into:)`, into fixed memory of at least `min(limit, 512)` bytes; returns the
    /// message's length. Nothing past `memory.count` is written: what does not fit is truncated as above.
    public static func encode(_ message: OutgoingMessage, limit: Int, into memory: UnsafeMutableRawBufferPointer) -> Int {
        var sink = RawSink(UnsafeMutableRawBufferPointer(rebasing: memory[..<min(limit, memory.count)]))
        MessageWriter.write(message, limit: limit, into: &sink)
        return sink.count
    }

    /// Writes a NOTIFY (RFC 1996 §3.7): opcode NOTIFY, AA set, the zone's SOA as question and, as a hint of the
    /// new serial, as answer.
    public static func encodeNotify(id: UInt16, zone: DomainName, soa: RRSet, into buffer: inout [UInt8]) {
        let request = Query(
            header: QueryHeader(id: id, flags: UInt16(Opcode.notify) << 11), name: zone, type: .soa,
            recordClass: RecordClass.internet, edns: nil)
        encode(.response(Response(authoritative: true, answer: [soa]), to: request), limit: classicUDPLimit, into: &buffer)
        // Written as a response to itself, it is a request: QR clear, only the opcode and AA left.
        buffer[2] = UInt8(Opcode.notify) << 3 | 0x04
        buffer[3] = 0
    }

    /// Writes a query, as svcdns sends one to an upstream: RD set, one question, and an OPT record
    /// advertising 1232 bytes with the client's DO bit (RFC 6891 §6.1.1), so signatures come back when asked.
    public static func encodeQuery(
        id: UInt16, name: DomainName, type: RecordType, dnssecOK: Bool, into buffer: inout [UInt8]
    ) {
        buffer.removeAll(keepingCapacity: true)
        withUnsafeMutablePointer(to: &buffer) { bytes in
            var sink = ArraySink(bytes)
            MessageWriter.writeHeader(id: id, flags: 0x0100, into: &sink)
            sink.patch16(1, at: 4)
            sink.patch16(1, at: 10)
            name.wire.withUnsafeBytes { sink.append($0) }
            sink.append16(type.rawValue)
            sink.append16(RecordClass.internet)
            MessageWriter.writeOPT(rcode: .noError, dnssecOK: dnssecOK, into: &sink)
        }
    }
}

/// The writing itself, for one message into one sink; specialised for each sink.
private enum MessageWriter {
    /// Past this offset a compression pointer cannot reach (14 bits).
    static let maxPointerTarget = 0x3FFF
    /// Enough for every name of any realistic answer; past it names are simply written whole.
    static let maxCompressionTargets = 64

    static func write<Sink: MessageSink>(_ message: OutgoingMessage, limit: Int, into sink: inout Sink) {
        switch message {
        case .response(let response, let query):
            writeResponse(response, to: query, limit: limit, into: &sink)
        case .error(let rcode, let header, let edns):
            writeError(rcode, header: header, edns: edns, into: &sink)
        }
    }

    private static func writeResponse<Sink: MessageSink>(
        _ response: Response, to query: Query, limit: Int, into sink: inout Sink
    ) {
        // The compression table lives on the stack for one message: no allocation, nothing to reset.
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: maxCompressionTargets) { offsets in
            var table = CompressionTable(offsets: offsets)
            writeResponse(response, to: query, limit: limit, table: &table, into: &sink)
        }
    }

    private static func writeResponse<Sink: MessageSink>(
        _ response: Response, to query: Query, limit: Int, table: inout CompressionTable, into sink: inout Sink
    ) {
        // The OPT record (11 bytes, and the echoed Client Subnet option) always goes last: room is kept for it, in
        // the limit and in fixed memory.
        let echoedSubnet = response.clientSubnetScope.flatMap { scope in query.edns?.clientSubnet.map { ($0, scope) } }
        let budget = min(limit, sink.capacity) - (query.edns == nil ? 0 : 11) - (echoedSubnet?.0.wireLength ?? 0)
        writeHeader(id: query.id, flags: 0, into: &sink)
        writeName(query.name, compress: true, table: &table, into: &sink)
        sink.append16(query.type.rawValue)
        sink.append16(query.recordClass)

        // RFC 2181 §9: an answer that does not fit keeps the records that do, with TC, so a stub resolver
        // without TCP (musl before 1.2.4) still gets addresses; the records come in their rotated order, so
        // consecutive truncated answers cover the whole set. Authority and additional records go first:
        // they are written only after the whole answer. An authority RRset that does not fit ends the
        // message with TC; an additional one that does not fit is left out without TC.
        var counts = (answer: 0, authority: 0, additional: 0)
        var truncated = false
        sections: do {
            let answer = writeSection(response.answer, wholeRRSets: false, budget: budget, table: &table, into: &sink)
            counts.answer = answer.count
            guard answer.complete else {
                truncated = true
                break sections
            }
            let authority = writeSection(response.authority, wholeRRSets: true, budget: budget, table: &table, into: &sink)
            counts.authority = authority.count
            guard authority.complete else {
                truncated = true
                break sections
            }
            counts.additional =
                writeSection(response.additional, wholeRRSets: true, budget: budget, table: &table, into: &sink).count
        }
        if response.truncated { truncated = true }

        if let edns = query.edns {
            writeOPT(rcode: response.rcode, dnssecOK: edns.dnssecOK, into: &sink)
            if let (subnet, scope) = echoedSubnet {
                let lengthAt = sink.count - 2
                subnet.write(scope: scope, into: &sink)
                sink.patch16(UInt16(subnet.wireLength), at: lengthAt)
            }
            counts.additional += 1
        }
        var flags: UInt16 = 0x8000 | UInt16(query.header.opcode) << 11 | (response.rcode.rawValue & 0x000F)
        if response.authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        flags |= query.header.flags & 0x0110  // RD and CD are copied (RFC 1035 §4.1.1, RFC 4035 §3.1.6)
        if response.recursionAvailable { flags |= 0x0080 }
        sink.patch16(flags, at: 2)
        sink.patch16(1, at: 4)
        sink.patch16(UInt16(counts.answer), at: 6)
        sink.patch16(UInt16(counts.authority), at: 8)
        sink.patch16(UInt16(counts.additional), at: 10)
    }

    /// Writes records while they fit; `complete` is false when one did not. With `wholeRRSets`, an RRset
    /// that does not fit whole is taken out again; without, the records of it that fit stay.
    private static func writeSection<Sink: MessageSink>(
        _ rrSets: [RRSet], wholeRRSets: Bool, budget: Int, table: inout CompressionTable, into sink: inout Sink
    ) -> (count: Int, complete: Bool) {
        var count = 0
        for index in rrSets.indices {
            let mark = sink.count
            let tableMark = table.count
            let written = writeRRSet(rrSets[index], budget: budget, table: &table, into: &sink)
            guard written.complete else {
                if wholeRRSets {
                    sink.truncate(to: mark)
                    table.count = tableMark
                    return (count, false)
                }
                return (count + written.count, false)
            }
            count += written.count
        }
        return (count, true)
    }

    /// Writes the records `rrSet` presents (from `firstRecord`, wrapping, at most `presentedCount`), each
    /// whole or not at all: a record past `budget` (or past fixed memory) is taken out and ends the set.
    private static func writeRRSet<Sink: MessageSink>(
        _ rrSet: RRSet, budget: Int, table: inout CompressionTable, into sink: inout Sink
    ) -> (count: Int, complete: Bool) {
        if let stored = rrSet.stored {
            return writeStoredRRSet(rrSet, stored.store, index: stored.index, owner: stored.owner, budget: budget, table: &table, into: &sink)
        }
        let records = rrSet.recordValues ?? []
        let count = rrSet.presentedCount
        let size = records.count
        guard size > 0 else { return (0, true) }
        var index = rrSet.firstRecord % size
        for written in 0..<count {
            let mark = sink.count
            let tableMark = table.count
            writeRecord(owner: rrSet.owner, type: rrSet.type, ttl: rrSet.ttl, rdata: records[index], table: &table, into: &sink)
            if sink.overflowed || sink.count > budget {
                sink.truncate(to: mark)
                table.count = tableMark
                return (written, false)
            }
            index += 1
            if index == size { index = 0 }
        }
        return (count, true)
    }

    /// As `writeRRSet` for a set held in a `RecordStore`: each record's bytes are copied as stored, and the names
    /// in the data of the RFC 1035 types are compressed as a value's are.
    private static func writeStoredRRSet<Sink: MessageSink>(
        _ rrSet: RRSet, _ store: RecordStore, index: Int, owner: DomainName?, budget: Int, table: inout CompressionTable,
        into sink: inout Sink
    ) -> (count: Int, complete: Bool) {
        store.withBytes(index) { storedOwner, records, entry, names in
            let size = Int(entry.count)
            guard size > 0 else { return (0, true) }
            let count = rrSet.presentedCount
            var position = rrSet.firstRecord % size
            var offset = 0
            if entry.uniformLength {
                offset = position * (2 + (Int(records[0]) << 8 | Int(records[1])))
            } else {
                for _ in 0..<position {
                    offset += 2 + (Int(records[offset]) << 8 | Int(records[offset + 1]))
                }
            }
            for written in 0..<count {
                let mark = sink.count
                let tableMark = table.count
                let length = Int(records[offset]) << 8 | Int(records[offset + 1])
                let rdata = UnsafeRawBufferPointer(rebasing: records[(offset + 2)..<(offset + 2 + length)])
                if let owner {
                    owner.wire.withUnsafeBufferPointer { owner in
                        writeStoredRecord(owner: owner, type: rrSet.type, ttl: rrSet.ttl, rdata: rdata, names: names, table: &table, into: &sink)
                    }
                } else {
                    writeStoredRecord(owner: storedOwner, type: rrSet.type, ttl: rrSet.ttl, rdata: rdata, names: names, table: &table, into: &sink)
                }
                if sink.overflowed || sink.count > budget {
                    sink.truncate(to: mark)
                    table.count = tableMark
                    return (written, false)
                }
                position += 1
                offset += 2 + length
                if position == size {
                    position = 0
                    offset = 0
                }
            }
            return (count, true)
        }
    }

    private static func writeStoredRecord<Sink: MessageSink>(
        owner: UnsafeBufferPointer<UInt8>, type: RecordType, ttl: UInt32, rdata: UnsafeRawBufferPointer,
        names: UnsafeBufferPointer<UInt8>, table: inout CompressionTable, into sink: inout Sink
    ) {
        writeName(owner, compress: true, table: &table, into: &sink)
        let lengthAt = writeRecordFields(type: type, ttl: ttl, into: &sink)
        let bytes = rdata.assumingMemoryBound(to: UInt8.self)
        /// The name at `start`, or the store's name it refers to.
        func name(at start: Int) -> UnsafeBufferPointer<UInt8> {
            RecordStore.resolve(UnsafeBufferPointer(rebasing: bytes[start...]), names: names)
        }
        switch type {
        case .cname, .ns, .ptr:
            writeName(name(at: 0), compress: true, table: &table, into: &sink)
        case .mx:
            sink.append(UnsafeRawBufferPointer(rebasing: rdata[0..<2]))
            writeName(name(at: 2), compress: true, table: &table, into: &sink)
        case .soa:
            let rname = nameLength(bytes, from: 0)
            let fields = rname + nameLength(bytes, from: rname)
            writeName(UnsafeBufferPointer(rebasing: bytes[0..<rname]), compress: true, table: &table, into: &sink)
            writeName(UnsafeBufferPointer(rebasing: bytes[rname..<fields]), compress: true, table: &table, into: &sink)
            sink.append(UnsafeRawBufferPointer(rebasing: rdata[fields...]))
        case .srv:
            // Not compressed (RFC 2782), but later names may point at it, as at a value's target.
            sink.append(UnsafeRawBufferPointer(rebasing: rdata[0..<6]))
            writeName(name(at: 6), compress: false, table: &table, into: &sink)
        default:
            sink.append(rdata)
        }
        sink.patch16(UInt16(truncatingIfNeeded: sink.count - lengthAt - 2), at: lengthAt)
    }

    /// The length of the uncompressed name at `start` of `bytes`, its zero byte included.
    private static func nameLength(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var position = start
        while bytes[position] != 0 {
            position += Int(bytes[position]) + 1
        }
        return position + 1 - start
    }

    static func writeHeader<Sink: MessageSink>(id: UInt16, flags: UInt16, into sink: inout Sink) {
        sink.append16(id)
        sink.append16(flags)
        sink.append32(0)
        sink.append32(0)
    }

    static func writeError<Sink: MessageSink>(_ rcode: ResponseCode, header: QueryHeader, edns: EDNS?, into sink: inout Sink) {
        // The opcode is echoed. RD (RFC 1035 §4.1.1) and AD, CD (RFC 4035 §3.2) are defined for QUERY only,
        // so an answer to another opcode has every flag but QR clear (ISC genreport's `opcodeflg`).
        var flags: UInt16 = 0x8000 | (header.flags & 0x7800) | (rcode.rawValue & 0x000F)
        if header.opcode == 0 { flags |= header.flags & 0x0100 }
        writeHeader(id: header.id, flags: flags, into: &sink)
        if let edns {
            writeOPT(rcode: rcode, dnssecOK: edns.dnssecOK, into: &sink)
            sink.patch16(1, at: 10)
        }
    }

    /// A record's type, class and TTL after its owner, and room for its data's length; returns where the length
    /// goes, to be patched once the data is written.
    @inline(__always)
    private static func writeRecordFields<Sink: MessageSink>(type: RecordType, ttl: UInt32, into sink: inout Sink) -> Int {
        sink.append16(type.rawValue)
        sink.append16(RecordClass.internet)
        sink.append32(ttl)
        let lengthAt = sink.count
        sink.append16(0)
        return lengthAt
    }

    private static func writeRecord<Sink: MessageSink>(
        owner: DomainName, type: RecordType, ttl: UInt32, rdata: RData, table: inout CompressionTable, into sink: inout Sink
    ) {
        writeName(owner, compress: true, table: &table, into: &sink)
        let lengthAt = writeRecordFields(type: type, ttl: ttl, into: &sink)
        switch rdata {
        case .a(let address):
            sink.append32(UInt32(address.b0) << 24 | UInt32(address.b1) << 16 | UInt32(address.b2) << 8 | UInt32(address.b3))
        case .aaaa(let address):
            sink.append64(address.high)
            sink.append64(address.low)
        case .cname(let name), .ns(let name), .ptr(let name):
            writeName(name, compress: true, table: &table, into: &sink)
        case .mx(let preference, let exchange):
            sink.append16(preference)
            writeName(exchange, compress: true, table: &table, into: &sink)
        case .soa(let soa):
            writeName(soa.mname, compress: true, table: &table, into: &sink)
            writeName(soa.rname, compress: true, table: &table, into: &sink)
            sink.append32(soa.serial)
            sink.append32(soa.refresh)
            sink.append32(soa.retry)
            sink.append32(soa.expire)
            sink.append32(soa.minimum)
        case .srv(let priority, let weight, let port, let target):
            sink.append16(priority)
            sink.append16(weight)
            sink.append16(port)
            writeName(target, compress: false, table: &table, into: &sink)
        case .txt(let strings):
            for string in strings {
                sink.append(UInt8(string.count))
                string.withUnsafeBytes { sink.append($0) }
            }
        case .opaque(let bytes):
            bytes.withUnsafeBytes { sink.append($0) }
        }
        sink.patch16(UInt16(truncatingIfNeeded: sink.count - lengthAt - 2), at: lengthAt)
    }

    /// RFC 6891 §6.1.2–6.1.3: owner root, class = our buffer size, TTL = extended rcode, version 0, DO.
    static func writeOPT<Sink: MessageSink>(rcode: ResponseCode, dnssecOK: Bool, into sink: inout Sink) {
        sink.append(0)
        sink.append16(RecordType.opt.rawValue)
        sink.append16(ResponseEncoder.advertisedUDPPayloadSize)
        sink.append32(UInt32(rcode.rawValue >> 4) << 24 | (dnssecOK ? 0x8000 : 0))
        sink.append16(0)
    }

    /// Writes `name`, ending in a pointer to the longest suffix already in the message when `compress` is set.
    private static func writeName<Sink: MessageSink>(
        _ name: DomainName, compress: Bool, table: inout CompressionTable, into sink: inout Sink
    ) {
        name.wire.withUnsafeBufferPointer { wire in
            writeName(wire, compress: compress, table: &table, into: &sink)
        }
    }

    /// As `writeName(_:compress:table:into:)`, for a name's uncompressed wire bytes.
    private static func writeName<Sink: MessageSink>(
        _ wire: UnsafeBufferPointer<UInt8>, compress: Bool, table: inout CompressionTable, into sink: inout Sink
    ) {
        do {
            var suffixStart = 0
            var pointer: Int? = nil
            if compress && !sink.overflowed {
                search: while wire[suffixStart] != 0 {
                    for slot in 0..<table.count where nameAt(Int(table.offsets[slot]), in: sink, equals: wire, from: suffixStart) {
                        pointer = Int(table.offsets[slot])
                        break search
                    }
                    suffixStart += Int(wire[suffixStart]) + 1
                }
            }
            let end = pointer == nil ? wire.count - 1 : suffixStart
            // Later names may point only at bytes that are really there: a name that will not fit adds no targets.
            if sink.fits(end + 2) {
                var labelStart = 0
                while labelStart < end {
                    let offset = sink.count + labelStart
                    if offset <= maxPointerTarget && table.count < maxCompressionTargets {
                        table.append(offset)
                    }
                    labelStart += Int(wire[labelStart]) + 1
                }
            }
            sink.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: wire[0..<end])))
            if let pointer {
                sink.append16(0xC000 | UInt16(pointer))
            } else {
                sink.append(0)
            }
        }
    }

    /// Compares the (possibly compressed) name at `offset` of our own output with `wire[start...]`, case folded.
    private static func nameAt<Sink: MessageSink>(
        _ offset: Int, in sink: Sink, equals wire: UnsafeBufferPointer<UInt8>, from start: Int
    ) -> Bool {
        // Most often the name is there byte for byte (an answer's owner is the question as asked): one
        // memcmp. Equal bytes are an equal name: a pointer's first byte (0xC0…) is never a label length.
        if sink.matches(UnsafeBufferPointer(rebasing: wire[start...]), at: offset) { return true }
        var position = offset
        var index = start
        while true {
            var length = sink.byte(at: position)
            while length & 0xC0 == 0xC0 {
                position = Int(length & 0x3F) << 8 | Int(sink.byte(at: position + 1))
                length = sink.byte(at: position)
            }
            guard length == wire[index] else { return false }
            if length == 0 { return true }
            for step in 1...Int(length)
            where asciiLowercased(sink.byte(at: position + step)) != asciiLowercased(wire[index + step]) {
                return false
            }
            position += Int(length) + 1
            index += Int(length) + 1
        }
    }
}

/// Offsets of every label start written so far in one message: the targets names may point to.
private struct CompressionTable {
    let offsets: UnsafeMutableBufferPointer<UInt16>
    var count = 0

    init(offsets: UnsafeMutableBufferPointer<UInt16>) {
        self.offsets = offsets
    }

    mutating func append(_ offset: Int) {
        offsets[count] = UInt16(offset)
        count += 1
    }
}
