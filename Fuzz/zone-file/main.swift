// fuzz-zone-file: the zone-file reader (libldns record by record, then svcdns's zone rules). A zone it
// accepts must keep those rules (one SOA, every name inside the zone, TTLs within RFC 2181), and each of its
// RRsets must go on the wire as an answer libldns reads back.
import DNSMessage
import FuzzSupport

private let origin = DomainName("corp.example.")!
private nonisolated(unsafe) var output: [UInt8] = []

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZoneFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let zone = try? ZoneFile.parse(text, file: "fuzz.zone", origin: origin) else { return 0 }
    require(zone.soaTTL <= UInt32(Int32.max), "an SOA TTL of \(zone.soaTTL) was accepted")
    for record in zone.records {
        require(record.type != .soa, "a second SOA was accepted")
        require(record.owner.isSubdomain(of: zone.origin), "\(record.owner) is outside \(zone.origin)")
        require(record.ttl <= UInt32(Int32.max), "a TTL of \(record.ttl) was accepted")
    }
    for (index, set) in RRSet.grouping(zone.records).prefix(64).enumerated() {
        let query = Query(
            header: QueryHeader(id: UInt16(index), flags: 0x0100), name: set.owner, type: set.type, recordClass: 1, edns: nil)
        let response = Response(authoritative: true, answer: [set])
        ResponseEncoder.encode(.response(response, to: query), limit: ResponseEncoder.tcpLimit, into: &output)
        _ = output.withUnsafeBytes { bytes in
            WireCheck.requireResponse(bytes, limit: ResponseEncoder.tcpLimit, id: query.id, what: "\(set.owner) \(set.type)")
        }
    }
    return 0
}
