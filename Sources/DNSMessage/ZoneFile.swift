import CLDNS

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A static zone read from an RFC 1035 zone file.
public struct ZoneFileContents: Hashable, Sendable {
    /// The apex: the SOA record's owner.
    public var origin: DomainName
    public var soa: SOAData
    public var soaTTL: UInt32
    /// Every record but the SOA.
    public var records: [ResourceRecord]
}

/// A zone file that cannot be served, printed as `FILE:LINE: reason` (or `FILE: reason` when the
/// problem is not on one line, such as a missing SOA).
public struct ZoneFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var reason: String

    public init(file: String, line: Int?, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        if let line { return "\(file):\(line): \(reason)" }
        return "\(file): \(reason)"
    }
}

/// Zone-file reading through libldns, the project's DNS library.
public enum ZoneFile {
    /// Parses zone text. `origin` applies until a `$ORIGIN` line; pass the name the file is for
    /// (libldns would otherwise make relative names absolute at the root without a word).
    /// A single bad line rejects the whole file: a half-read zone would answer NXDOMAIN for what it lost.
    public static func parse(_ text: String, file: String, origin: DomainName) throws(ZoneFileError) -> ZoneFileContents {
        let records = try readRecords(text, file: file, origin: origin)
        guard let first = records.first(where: { $0.record.type == .soa }), case .soa(let soa) = first.record.rdata else {
            throw ZoneFileError(file: file, line: nil, reason: "no SOA record; a zone file must start with one")
        }
        // RFC 2181 §8: a TTL is 0 to 2^31 - 1; resolvers read one with the top bit set as 0, so serving it would
        // make the record uncacheable rather than long-lived, silently.
        if let (record, line) = records.first(where: { $0.record.ttl > UInt32(Int32.max) }) {
            throw ZoneFileError(file: file, line: line, reason: "TTL \(record.ttl) is over 2147483647 (RFC 2181 §8)")
        }
        let apex = first.record.owner
        var rest: [ResourceRecord] = []
        var typesByOwner: [DomainName: (types: Set<RecordType>, line: Int)] = [:]
        for (record, line) in records where line != first.line {
            guard record.type != .soa else {
                throw ZoneFileError(file: file, line: line, reason: "a second SOA record; a zone has exactly one")
            }
            guard record.owner.isSubdomain(of: apex) else {
                throw ZoneFileError(file: file, line: line, reason: "\(record.owner) is outside the zone \(apex)")
            }
            var seen = typesByOwner[record.owner] ?? ([], line)
            seen.types.insert(record.type)
            // RFC 1034 §3.6.2 (and RFC 2181 §10.1): a CNAME owner has no other data, and the apex has an SOA.
            if seen.types.contains(.cname) && (seen.types.count > 1 || record.owner == apex) {
                throw ZoneFileError(file: file, line: line, reason: "\(record.owner) has a CNAME and other data")
            }
            typesByOwner[record.owner] = seen
            rest.append(record)
        }
        return ZoneFileContents(origin: apex, soa: soa, soaTTL: first.record.ttl, records: rest)
    }

    /// Reads the text record by record with `ldns_rr_new_frm_fp_l`, so each record keeps the line it
    /// started on. (libldns's whole-zone reader loses lines, silently drops a second SOA, and in 1.8.3
    /// reads that SOA after freeing it.)
    private static func readRecords(
        _ text: String, file: String, origin: DomainName
    ) throws(ZoneFileError) -> [(record: ResourceRecord, line: Int)] {
        var bytes = Array(text.utf8)
        // libldns counts lines by their newlines: without a final one, an error on the last line is
        // reported one line early.
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        var currentOrigin = ldns_dname_new_frm_str(origin.description)
        var previousOwner = ldns_dname_new_frm_str(origin.description)
        defer {
            ldns_rdf_deep_free(currentOrigin)
            ldns_rdf_deep_free(previousOwner)
        }
        guard currentOrigin != nil, previousOwner != nil else {
            throw ZoneFileError(file: file, line: nil, reason: "\(origin) is not a usable origin")
        }
        var defaultTTL: UInt32 = 3600
        var line: Int32 = 0  // libldns adds to this; it must start at zero
        var records: [(record: ResourceRecord, line: Int)] = []
        var failure: ZoneFileError? = nil
        bytes.withUnsafeMutableBytes { raw in
            guard let stream = fmemopen(raw.baseAddress, raw.count, "r") else {
                failure = ZoneFileError(file: file, line: nil, reason: "cannot be read")
                return
            }
            defer { fclose(stream) }
            while feof(stream) == 0 {
                let startLine = Int(line) + 1
                var rr: UnsafeMutablePointer<ldns_rr>? = nil
                let status = ldns_rr_new_frm_fp_l(&rr, stream, &defaultTTL, &currentOrigin, &previousOwner, &line)
                switch status {
                case LDNS_STATUS_OK:
                    guard let rr else { continue }
                    defer { ldns_rr_free(rr) }
                    do throws(MalformedReason) {
                        records.append((try convert(rr), startLine))
                    } catch {
                        failure = ZoneFileError(file: file, line: startLine, reason: reason(rr, error))
                        return
                    }
                case LDNS_STATUS_SYNTAX_EMPTY, LDNS_STATUS_SYNTAX_TTL, LDNS_STATUS_SYNTAX_ORIGIN:
                    continue
                case LDNS_STATUS_SYNTAX_INCLUDE:
                    let reason = String(cString: ldns_get_errorstr_by_id(LDNS_STATUS_SYNTAX_INCLUDE_ERR_NOTIMPL))
                    failure = ZoneFileError(file: file, line: Int(line), reason: reason)
                    return
                default:
                    failure = ZoneFileError(file: file, line: Int(line), reason: String(cString: ldns_get_errorstr_by_id(status)))
                    return
                }
            }
        }
        if let failure { throw failure }
        return records
    }

    /// Why a record libldns read cannot be served.
    private static func reason(_ rr: UnsafeMutablePointer<ldns_rr>, _ error: MalformedReason) -> String {
        func text(_ name: UnsafeMutablePointer<CChar>?) -> String? {
            defer { free(name) }
            return name.map { String(cString: $0) }
        }
        if error == .notInternetClass {
            return "class \(text(ldns_rr_class2str(ldns_rr_get_class(rr))) ?? "?"): svcdns serves class IN only"
        }
        return "\(text(ldns_rr_type2str(ldns_rr_get_type(rr))) ?? "record") data that does not read back from wire form"
    }

    private static func convert(_ rr: UnsafeMutablePointer<ldns_rr>) throws(MalformedReason) -> ResourceRecord {
        var wire: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status = ldns_rr2wire(&wire, rr, Int32(LDNS_SECTION_ANSWER.rawValue), &size)
        defer { free(wire) }
        guard status == LDNS_STATUS_OK, let wire else { throw MalformedReason.truncated }
        // libldns's text reader accepts some data its wire reader refuses (`CAA 0 \# ue "x"` becomes two bytes
        // of CAA), and svcdns passes types it does not know on as they are: served, such a record would make
        // every answer for its name unreadable to a client (found by the zone-file fuzz target).
        var reread: UnsafeMutablePointer<ldns_rr>? = nil
        var position = 0
        let rereadStatus = ldns_wire2rr(&reread, wire, size, &position, LDNS_SECTION_ANSWER)
        ldns_rr_free(reread)
        guard rereadStatus == LDNS_STATUS_OK, position == size else { throw MalformedReason.truncated }
        return try MessageDecoder.decodeRecord(Array(UnsafeBufferPointer(start: wire, count: size)))
    }
}
