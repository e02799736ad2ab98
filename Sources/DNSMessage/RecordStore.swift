/// RRsets kept in wire form in three contiguous buffers (owner names, record data, one entry per RRset), the way
/// NSD and Knot keep a zone's answers precompiled: a million records are a few arrays, not a million heap objects,
/// and the encoder copies a record's bytes rather than re-encoding a value.
///
/// Immutable once built (`Builder`). An RRset read from it (`subscript`) refers back to the store, so reading one
/// allocates nothing; its owner and records are decoded into values only when asked for (`RRSet.owner`,
/// `RRSet.rdata`), which the query path never does.
public final class RecordStore: Sendable {
    /// Where one RRset lives in the buffers.
    struct Entry: Sendable {
        var ownerStart: UInt32
        var ownerLength: UInt8
        /// Every record's data has the same length (A, AAAA, and many SRV sets): the k-th record is found by
        /// arithmetic instead of by stepping over k lengths.
        var uniformLength: Bool
        var type: UInt16
        var ttl: UInt32
        var dataStart: UInt32
        var count: UInt32
    }

    /// Names in wire form, as given (not lowercased): owners, and names others refer to.
    let names: [UInt8]
    /// Each record's data, preceded by its length in two bytes; names inside are uncompressed. The name of a
    /// CNAME, NS, PTR, MX or SRV record may instead be a reference to a name in `names`: `referenceMarker` and
    /// the name's offset in four bytes (a label's length byte is at most 63, so the two cannot be confused).
    /// A million SRV and PTR records naming the hostnames the store already holds keep them once.
    let data: [UInt8]
    let entries: [Entry]

    private init(names: [UInt8], data: [UInt8], entries: [Entry]) {
        self.names = names
        self.data = data
        self.entries = entries
    }

    /// How many RRsets it holds.
    public var count: Int { entries.count }

    /// The first byte of a reference to a name in `names`, in place of the name.
    static let referenceMarker: UInt8 = 0xFF

    /// The names in wire form, end to end (an index of names may refer to them rather than copy them).
    public var nameBytes: [UInt8] { names }

    /// Where the name that may be a reference starts in a record's data of `type`; nil for other types.
    static func nameSlot(of type: RecordType) -> Int? {
        switch type {
        case .cname, .ns, .ptr: 0
        case .mx: 2
        case .srv: 6
        default: nil
        }
    }

    /// The name in `slot` (the rest of a record's data from its name on): itself, or exactly the bytes of the
    /// name it refers to in `names`.
    static func resolve(_ slot: UnsafeBufferPointer<UInt8>, names: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard slot.first == referenceMarker else { return slot }
        let offset = Int(slot[1]) << 24 | Int(slot[2]) << 16 | Int(slot[3]) << 8 | Int(slot[4])
        return wireNameSlice(UnsafeBufferPointer(rebasing: names[offset...]))
    }

    /// The bytes it holds, all buffers together (for the memory figures).
    public var byteCount: Int {
        names.count + data.count + entries.count * MemoryLayout<Entry>.stride
    }

    /// The RRset at `index`, referring to this store.
    public subscript(index: Int) -> RRSet {
        let entry = entries[index]
        return RRSet(stored: self, index: index, type: RecordType(rawValue: entry.type), ttl: entry.ttl)
    }

    /// The type of the RRset at `index`.
    public func type(of index: Int) -> RecordType {
        RecordType(rawValue: entries[index].type)
    }

    /// The number of records of the RRset at `index`.
    public func recordCount(of index: Int) -> Int {
        Int(entries[index].count)
    }

    /// The owner of the RRset at `index`, as a value (allocates).
    func owner(_ index: Int) -> DomainName {
        let entry = entries[index]
        let start = Int(entry.ownerStart)
        return DomainName(uncheckedWire: Array(names[start..<(start + Int(entry.ownerLength))]))
    }

    /// The records of the RRset at `index`, as values (allocates).
    func records(_ index: Int) -> [RData] {
        let entry = entries[index]
        let type = RecordType(rawValue: entry.type)
        var records: [RData] = []
        records.reserveCapacity(Int(entry.count))
        let slot = Self.nameSlot(of: type)
        withBytes(index) { _, bytes, _, names in
            var offset = 0
            for _ in 0..<entry.count {
                let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
                let record = UnsafeRawBufferPointer(rebasing: bytes[(offset + 2)..<(offset + 2 + length)])
                offset += 2 + length
                // The builder wrote these bytes from values, so they read back; a failure here is a bug.
                guard let slot, record.count > slot, record[slot] == Self.referenceMarker else {
                    records.append(try! MessageDecoder.readRData(type, from: record))
                    continue
                }
                let name = Self.resolve(UnsafeBufferPointer(rebasing: record.assumingMemoryBound(to: UInt8.self)[slot...]), names: names)
                let expanded = Array(record[0..<slot]) + Array(name)
                records.append(expanded.withUnsafeBytes { try! MessageDecoder.readRData(type, from: $0) })
            }
        }
        return records
    }

    /// Calls `body` with the uncompressed wire form of each name that brings records into the additional section
    /// (RFC 1035 §3.3.9, RFC 2782): the target of each SRV record, the exchange of each MX, the host of each NS,
    /// in record order. Other types have none.
    public func forEachAdditionalTarget(of index: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        let entry = entries[index]
        let skip: Int
        switch RecordType(rawValue: entry.type) {
        case .srv: skip = 6
        case .mx: skip = 2
        case .ns: skip = 0
        default: return
        }
        withBytes(index) { _, bytes, _, names in
            var offset = 0
            for _ in 0..<entry.count {
                let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
                let slot = UnsafeBufferPointer(rebasing: bytes.assumingMemoryBound(to: UInt8.self)[(offset + 2 + skip)..<(offset + 2 + length)])
                body(UnsafeRawBufferPointer(Self.resolve(slot, names: names)))
                offset += 2 + length
            }
        }
    }

    /// The bytes of the uncompressed name at the start of `bytes`, its zero byte included.
    static func wireNameSlice(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var position = 0
        while bytes[position] != 0 {
            position += Int(bytes[position]) + 1
        }
        return UnsafeBufferPointer(rebasing: bytes[0...position])
    }

    /// Calls `body` with the owner's wire bytes and the bytes of the records of the RRset at `index`, each record's
    /// data preceded by its two-byte length, and every name of the store (what references refer to).
    func withBytes<Result>(
        _ index: Int,
        _ body: (
            _ owner: UnsafeBufferPointer<UInt8>, _ records: UnsafeRawBufferPointer, _ entry: Entry,
            _ names: UnsafeBufferPointer<UInt8>
        ) -> Result
    ) -> Result {
        let entry = entries[index]
        return names.withUnsafeBufferPointer { names in
            data.withUnsafeBytes { data in
                let ownerStart = Int(entry.ownerStart)
                let owner = UnsafeBufferPointer(rebasing: names[ownerStart..<(ownerStart + Int(entry.ownerLength))])
                return body(owner, UnsafeRawBufferPointer(rebasing: data[Int(entry.dataStart)...]), entry, names)
            }
        }
    }

    /// Collects RRsets into a store: append each set once, then `finish`.
    public struct Builder {
        private var names: [UInt8] = []
        private var data: [UInt8] = []
        private var entries: [Entry] = []
        /// The last owner appended, so that the RRsets of one name share its bytes.
        private var lastOwner: (wire: [UInt8], start: UInt32)? = nil

        public init(expectedSets: Int = 0) {
            entries.reserveCapacity(expectedSets)
        }

        /// How many RRsets have been appended.
        public var count: Int { entries.count }

        /// Appends a name (an owner whose sets follow, or one only referred to); returns where it starts.
        public mutating func appendName(_ wire: [UInt8]) -> UInt32 {
            let start = UInt32(names.count)
            names += wire
            return start
        }

        /// The names appended so far, end to end. A copy kept while more are appended would copy the buffer.
        public var nameBytes: [UInt8] { names }

        /// Where the owner of RRset `index` starts among the names.
        public func ownerStart(of index: Int) -> UInt32 {
            entries[index].ownerStart
        }

        /// Appends an RRset of `type` (CNAME, NS or PTR) whose records each name a name already appended, at
        /// `targets` (where each starts), as references; its owner is the name at `ownerStart`.
        @discardableResult
        public mutating func appendReferences(
            type: RecordType, ttl: UInt32, ownerStart: UInt32, ownerLength: Int, targets: [UInt32]
        ) -> Int {
            let dataStart = UInt32(data.count)
            for target in targets {
                data += [0, 5, referenceMarker]
                data += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: target >> $0) }
            }
            entries.append(
                Entry(
                    ownerStart: ownerStart, ownerLength: UInt8(ownerLength), uniformLength: true, type: type.rawValue,
                    ttl: ttl, dataStart: dataStart, count: UInt32(targets.count)))
            return entries.count - 1
        }

        /// Appends `set` (its records as they are, in order); returns its index in the store. Its owner is the
        /// name at `ownerStart`, or else appended (once for consecutive sets of one owner). A name in its records
        /// that `reference` finds among the names (it returns where it starts) is kept as a reference to it.
        @discardableResult
        public mutating func append(
            _ set: RRSet, ownerStart knownStart: UInt32? = nil, reference: ((DomainName) -> UInt32?)? = nil
        ) -> Int {
            let owner = set.owner.wire
            let ownerStart: UInt32
            if let knownStart {
                ownerStart = knownStart
            } else if let lastOwner, lastOwner.wire == owner {
                ownerStart = lastOwner.start
            } else {
                ownerStart = UInt32(names.count)
                names += owner
                lastOwner = (owner, ownerStart)
            }
            let dataStart = UInt32(data.count)
            var firstLength: Int? = nil
            var uniform = true
            let slot = RecordStore.nameSlot(of: set.type)
            for record in set.rdata {
                let lengthAt = data.count
                data += [0, 0]
                record.appendWire(to: &data)
                if let slot, let reference, let name = record.nameInSlot, let target = reference(name) {
                    data.removeLast(data.count - (lengthAt + 2 + slot))
                    data.append(referenceMarker)
                    data += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: target >> $0) }
                }
                let length = data.count - lengthAt - 2
                data[lengthAt] = UInt8(truncatingIfNeeded: length >> 8)
                data[lengthAt + 1] = UInt8(truncatingIfNeeded: length)
                if let firstLength, firstLength != length { uniform = false }
                if firstLength == nil { firstLength = length }
            }
            entries.append(
                Entry(
                    ownerStart: ownerStart, ownerLength: UInt8(owner.count), uniformLength: uniform,
                    type: set.type.rawValue, ttl: set.ttl, dataStart: dataStart, count: UInt32(set.rdata.count)
                )
            )
            return entries.count - 1
        }

        /// The owner of RRset `index`, in wire form as given.
        public func ownerWire(of index: Int) -> [UInt8] {
            let entry = entries[index]
            return Array(names[Int(entry.ownerStart)..<(Int(entry.ownerStart) + Int(entry.ownerLength))])
        }

        public func finish() -> RecordStore {
            RecordStore(names: names, data: data, entries: entries)
        }
    }
}

extension RData {
    /// The name in the slot `RecordStore.nameSlot(of:)` gives for its type.
    var nameInSlot: DomainName? {
        switch self {
        case .cname(let name), .ns(let name), .ptr(let name), .mx(_, let name), .srv(_, _, _, let name): name
        default: nil
        }
    }

    /// Appends the record's data in wire form, names uncompressed (as RFC 3597 §4 requires of unknown types, and as
    /// the encoder may write any name).
    func appendWire(to bytes: inout [UInt8]) {
        func append16(_ value: UInt16) {
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
            bytes.append(UInt8(truncatingIfNeeded: value))
        }
        func append32(_ value: UInt32) {
            append16(UInt16(truncatingIfNeeded: value >> 16))
            append16(UInt16(truncatingIfNeeded: value))
        }
        switch self {
        case .a(let address):
            bytes += [address.b0, address.b1, address.b2, address.b3]
        case .aaaa(let address):
            append32(UInt32(truncatingIfNeeded: address.high >> 32))
            append32(UInt32(truncatingIfNeeded: address.high))
            append32(UInt32(truncatingIfNeeded: address.low >> 32))
            append32(UInt32(truncatingIfNeeded: address.low))
        case .cname(let name), .ns(let name), .ptr(let name):
            bytes += name.wire
        case .mx(let preference, let exchange):
            append16(preference)
            bytes += exchange.wire
        case .soa(let soa):
            bytes += soa.mname.wire
            bytes += soa.rname.wire
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                append32(value)
            }
        case .srv(let priority, let weight, let port, let target):
            append16(priority)
            append16(weight)
            append16(port)
            bytes += target.wire
        case .txt(let strings):
            for string in strings {
                bytes.append(UInt8(string.count))
                bytes += string
            }
        case .opaque(let data):
            bytes += data
        }
    }
}
