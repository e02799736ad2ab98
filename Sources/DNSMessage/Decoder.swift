/// Wire → values. The query path's first stage: a ladder of early exits, as in NSD's `query_process`.
public enum MessageDecoder {
    /// Reads a query. Throws `DecodeError`, whose case says whether to drop the message or answer
    /// FORMERR/NOTIMP. Counts every declared record, so trailing bytes are an error (Knot's `trail-garbage`).
    public static func decodeQuery(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Query {
        guard bytes.count >= 12 else { throw .shortHeader }
        var reader = WireReader(bytes)
        let header: QueryHeader
        let counts: (question: UInt16, answer: UInt16, authority: UInt16, additional: UInt16)
        do {
            header = QueryHeader(id: try reader.readUInt16(), flags: try reader.readUInt16())
            counts = (try reader.readUInt16(), try reader.readUInt16(), try reader.readUInt16(), try reader.readUInt16())
        } catch {
            throw .shortHeader
        }
        guard !header.isResponse else { throw .notAQuery }
        guard header.opcode == 0 else { throw .notImplemented(header) }
        guard counts.question == 1 else { throw .malformed(header, .questionCount(Int(counts.question))) }
        do throws(MalformedReason) {
            let name = try reader.readName()
            let type = RecordType(rawValue: try reader.readUInt16())
            let recordClass = try reader.readUInt16()
            var ixfrSerial: UInt32? = nil
            for index in 0..<(Int(counts.answer) + Int(counts.authority)) {
                // RFC 1995 §3: an IXFR names the version the secondary holds with an SOA in the authority section.
                if type == .ixfr && index >= Int(counts.answer) && ixfrSerial == nil {
                    if case .soa(let soa) = try readRecord(&reader).rdata { ixfrSerial = soa.serial }
                } else {
                    try skipRecord(&reader)
                }
            }
            var edns: EDNS? = nil
            for _ in 0..<counts.additional {
                // Checked, not built: only whether the owner is the root matters here.
                let ownerIsRoot = try reader.skipName()
                let type = try reader.readUInt16()
                let recordClass = try reader.readUInt16()
                let ttl = try reader.readUInt32()
                let length = Int(try reader.readUInt16())
                guard type == RecordType.opt.rawValue else {
                    try reader.skip(length)
                    continue
                }
                guard edns == nil else { throw MalformedReason.duplicateOPT }
                guard ownerIsRoot else { throw MalformedReason.optNotAtRoot }
                let clientSubnet = try checkOptions(&reader, length: length, readingClientSubnet: true)
                edns = EDNS(
                    udpPayloadSize: recordClass,
                    version: UInt8(truncatingIfNeeded: ttl >> 16),
                    dnssecOK: ttl & 0x8000 != 0,
                    clientSubnet: clientSubnet
                )
            }
            guard reader.remaining == 0 else { throw MalformedReason.trailingBytes }
            var query = Query(header: header, name: name, type: type, recordClass: recordClass, edns: edns)
            query.ixfrSerial = ixfrSerial
            return query
        } catch {
            throw .malformed(header, error)
        }
    }

    /// The EDNS of a message `decodeQuery` rejected, when it still reads cleanly, so a NOTIMP or
    /// FORMERR answer can carry OPT as RFC 6891 §7 asks. Nil when the message has no usable single OPT.
    /// Off the hot path: only rejected messages come here.
    public static func ednsOfRejected(_ bytes: UnsafeRawBufferPointer) -> EDNS? {
        var reader = WireReader(bytes)
        do throws(MalformedReason) {
            try reader.skip(4)
            let counts = (try reader.readUInt16(), try reader.readUInt16(), try reader.readUInt16(), try reader.readUInt16())
            for _ in 0..<counts.0 {
                _ = try reader.readName()
                try reader.skip(4)
            }
            for _ in 0..<(Int(counts.1) + Int(counts.2)) {
                try skipRecord(&reader)
            }
            var edns: EDNS? = nil
            for _ in 0..<counts.3 {
                let owner = try reader.readName()
                let type = try reader.readUInt16()
                let recordClass = try reader.readUInt16()
                let ttl = try reader.readUInt32()
                let length = Int(try reader.readUInt16())
                if type == RecordType.opt.rawValue {
                    guard edns == nil, owner.wire == [0] else { return nil }
                    // Options are checked for their framing only: a malformed Client Subnet is what made it FORMERR.
                    _ = try checkOptions(&reader, length: length, readingClientSubnet: false)
                    edns = EDNS(udpPayloadSize: recordClass, version: UInt8(truncatingIfNeeded: ttl >> 16), dnssecOK: ttl & 0x8000 != 0)
                } else {
                    try reader.skip(length)
                }
            }
            return edns
        } catch {
            return nil
        }
    }

    /// Reads a whole message (an upstream's response): header, question and every record, OPT apart.
    /// Compressed names anywhere are followed; anything malformed throws.
    public static func decodeMessage(_ bytes: UnsafeRawBufferPointer) throws(MalformedReason) -> Message {
        var reader = WireReader(bytes)
        let header = QueryHeader(id: try reader.readUInt16(), flags: try reader.readUInt16())
        let counts = (try reader.readUInt16(), try reader.readUInt16(), try reader.readUInt16(), try reader.readUInt16())
        var questions: [(name: DomainName, type: RecordType, recordClass: UInt16)] = []
        for _ in 0..<counts.0 {
            questions.append((try reader.readName(), RecordType(rawValue: try reader.readUInt16()), try reader.readUInt16()))
        }
        var sections: [[ResourceRecord]] = [[], [], []]
        var edns: EDNS? = nil
        for (section, count) in [(0, counts.1), (1, counts.2), (2, counts.3)] {
            for _ in 0..<count {
                let start = reader.position
                let owner = try reader.readName()
                let type = try reader.readUInt16()
                if section == 2 && type == RecordType.opt.rawValue {
                    let recordClass = try reader.readUInt16()
                    let ttl = try reader.readUInt32()
                    try reader.skip(Int(try reader.readUInt16()))
                    guard edns == nil, owner.wire == [0] else { throw .duplicateOPT }
                    edns = EDNS(udpPayloadSize: recordClass, version: UInt8(truncatingIfNeeded: ttl >> 16), dnssecOK: ttl & 0x8000 != 0)
                    continue
                }
                reader.position = start
                sections[section].append(try readRecord(&reader))
            }
        }
        return Message(
            header: header, questions: questions, answer: sections[0], authority: sections[1], additional: sections[2], edns: edns
        )
    }

    /// Convenience for tests and tools.
    public static func decodeQuery(_ bytes: [UInt8]) throws(DecodeError) -> Query {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) -> Query in try decodeQuery(raw) } }
        return try result.get()
    }

    /// Reads one uncompressed or compressed resource record starting at `offset` of `bytes`.
    /// Used for records libldns hands over in wire form.
    public static func decodeRecord(_ bytes: [UInt8], at offset: Int = 0) throws(MalformedReason) -> ResourceRecord {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(MalformedReason) -> ResourceRecord in
                var reader = WireReader(raw, position: offset)
                return try readRecord(&reader)
            }
        }
        return try result.get()
    }

    static func skipRecord(_ reader: inout WireReader) throws(MalformedReason) {
        _ = try reader.skipName()
        try reader.skip(8)
        try reader.skip(Int(try reader.readUInt16()))
    }

    /// RFC 6891 §6.1.2: options are code, length, data; they must exactly fill the rdata. The one option svcdns
    /// reads is EDNS Client Subnet (RFC 7871), returned when `readingClientSubnet` (at most one per query).
    static func checkOptions(
        _ reader: inout WireReader, length: Int, readingClientSubnet: Bool
    ) throws(MalformedReason) -> ClientSubnet? {
        let end = reader.position + length
        guard end <= reader.bytes.count else { throw .truncated }
        var clientSubnet: ClientSubnet? = nil
        while reader.position < end {
            guard end - reader.position >= 4 else { throw .badEDNSOption }
            let code = try reader.readUInt16()
            let optionLength = Int(try reader.readUInt16())
            guard reader.position + optionLength <= end else { throw .badEDNSOption }
            if readingClientSubnet && code == ClientSubnet.optionCode {
                // Two subnets leave no way to say which the answer is for (BIND refuses them too).
                guard clientSubnet == nil else { throw .badClientSubnet }
                clientSubnet = try ClientSubnet.read(&reader, length: optionLength)
            } else {
                try reader.skip(optionLength)
            }
        }
        return clientSubnet
    }

    static func readRecord(_ reader: inout WireReader) throws(MalformedReason) -> ResourceRecord {
        let owner = try reader.readName()
        let type = RecordType(rawValue: try reader.readUInt16())
        // ResourceRecord has no class: every record is written as IN, so one of another class would change
        // meaning on its way through (found by the upstream-answer fuzz target: a class-0 AAAA of 4 bytes).
        guard try reader.readUInt16() == RecordClass.internet else { throw .notInternetClass }
        let ttl = try reader.readUInt32()
        let length = Int(try reader.readUInt16())
        let rdata = try readRData(type, length: length, &reader)
        return ResourceRecord(owner: owner, type: type, ttl: ttl, rdata: rdata)
    }

    /// Reads one record's data of exactly `bytes` (a stored record: names uncompressed).
    static func readRData(_ type: RecordType, from bytes: UnsafeRawBufferPointer) throws(MalformedReason) -> RData {
        var reader = WireReader(bytes)
        return try readRData(type, length: bytes.count, &reader)
    }

    /// Reads the data of a record of `type` that fills the next `length` bytes, and nothing more.
    static func readRData(_ type: RecordType, length: Int, _ reader: inout WireReader) throws(MalformedReason) -> RData {
        let end = reader.position + length
        guard end <= reader.bytes.count else { throw .truncated }
        let rdata: RData
        switch type {
        case .a where length == 4:
            rdata = .a(IPv4Bytes(try reader.readBytes(4))!)
        case .aaaa where length == 16:
            rdata = .aaaa(IPv6Bytes(try reader.readBytes(16))!)
        case .a, .aaaa:
            // Passed on as opaque data, an upstream's 1-byte A record would reach clients that cannot read it;
            // CoreDNS and Unbound refuse such an answer too (found by the upstream-answer fuzz target).
            throw .badAddressLength
        case .cname:
            rdata = .cname(try reader.readName())
        case .ns:
            rdata = .ns(try reader.readName())
        case .ptr:
            rdata = .ptr(try reader.readName())
        case .mx:
            rdata = .mx(preference: try reader.readUInt16(), exchange: try reader.readName())
        case .soa:
            rdata = .soa(
                SOAData(
                    mname: try reader.readName(), rname: try reader.readName(), serial: try reader.readUInt32(),
                    refresh: try reader.readUInt32(), retry: try reader.readUInt32(), expire: try reader.readUInt32(),
                    minimum: try reader.readUInt32()
                )
            )
        case .srv:
            rdata = .srv(
                priority: try reader.readUInt16(), weight: try reader.readUInt16(), port: try reader.readUInt16(),
                target: try reader.readName()
            )
        case .txt:
            var strings: [[UInt8]] = []
            while reader.position < end {
                strings.append(try reader.readBytes(Int(try reader.readUInt8())))
            }
            rdata = .txt(strings)
        default:
            if let layout = EmbeddedNames.layouts[type.rawValue] {
                rdata = .opaque(try EmbeddedNames.readData(&reader, layout: layout, end: end))
            } else {
                rdata = .opaque(try reader.readBytes(length))
            }
        }
        guard reader.position == end else { throw .truncated }
        return rdata
    }
}
