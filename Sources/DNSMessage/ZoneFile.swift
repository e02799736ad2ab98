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
        let soaLines = ZoneFileScanner.soaLines(in: text)
        // libldns 1.8.3 frees a second SOA and then reads it (a use-after-free seen under valgrind):
        // such a file must never reach it.
        if soaLines.count > 1 {
            throw ZoneFileError(file: file, line: soaLines[1], reason: "a second SOA record; a zone has exactly one")
        }
        let records = try parseWithLDNS(text, file: file, origin: origin)
        guard let soaRecord = records.soa, case .soa(let soa) = soaRecord.rdata else {
            throw ZoneFileError(file: file, line: nil, reason: "no SOA record; a zone file must start with one")
        }
        let apex = soaRecord.owner
        var seenTypes: [DomainName: Set<RecordType>] = [:]
        for record in records.rest {
            guard record.owner.isSubdomain(of: apex) else {
                throw ZoneFileError(file: file, line: nil, reason: "\(record.owner) is outside the zone \(apex)")
            }
            seenTypes[record.owner, default: []].insert(record.type)
        }
        // RFC 1034 §3.6.2 (and RFC 2181 §10.1): a CNAME owner has no other data.
        for (owner, types) in seenTypes.sorted(by: { $0.key < $1.key }) where types.contains(.cname) {
            if types.count > 1 || owner == apex {
                throw ZoneFileError(file: file, line: nil, reason: "\(owner) has a CNAME and other data")
            }
        }
        return ZoneFileContents(origin: apex, soa: soa, soaTTL: soaRecord.ttl, records: records.rest)
    }

    private static func parseWithLDNS(
        _ text: String, file: String, origin: DomainName
    ) throws(ZoneFileError) -> (soa: ResourceRecord?, rest: [ResourceRecord]) {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { bytes = [UInt8(ascii: "\n")] }
        guard let originRDF = ldns_dname_new_frm_str(origin.description) else {
            throw ZoneFileError(file: file, line: nil, reason: "\(origin) is not a usable origin")
        }
        defer { ldns_rdf_deep_free(originRDF) }

        var zone: UnsafeMutablePointer<ldns_zone>? = nil
        var line: Int32 = 0  // libldns adds to this; it must start at zero
        let status = bytes.withUnsafeMutableBytes { raw -> ldns_status in
            guard let stream = fmemopen(raw.baseAddress, raw.count, "r") else { return LDNS_STATUS_FILE_ERR }
            defer { fclose(stream) }
            return ldns_zone_new_frm_fp_l(&zone, stream, originRDF, 3600, LDNS_RR_CLASS_IN, &line)
        }
        guard status == LDNS_STATUS_OK, let zone else {
            throw ZoneFileError(file: file, line: Int(line), reason: String(cString: ldns_get_errorstr_by_id(status)))
        }
        defer { ldns_zone_deep_free(zone) }

        func convert(_ rr: UnsafeMutablePointer<ldns_rr>) throws(ZoneFileError) -> ResourceRecord {
            var wire: UnsafeMutablePointer<UInt8>? = nil
            var size = 0
            let status = ldns_rr2wire(&wire, rr, Int32(LDNS_SECTION_ANSWER.rawValue), &size)
            defer { free(wire) }
            guard status == LDNS_STATUS_OK, let wire else {
                throw ZoneFileError(file: file, line: nil, reason: String(cString: ldns_get_errorstr_by_id(status)))
            }
            do {
                return try MessageDecoder.decodeRecord(Array(UnsafeBufferPointer(start: wire, count: size)))
            } catch {
                throw ZoneFileError(file: file, line: nil, reason: "a record libldns read has unreadable data (\(error))")
            }
        }

        let soa: ResourceRecord? = try ldns_zone_soa(zone).map { (rr) throws(ZoneFileError) in try convert(rr) }
        var rest: [ResourceRecord] = []
        let list = ldns_zone_rrs(zone)
        let count = ldns_rr_list_rr_count(list)
        rest.reserveCapacity(count)
        for index in 0..<count {
            guard let rr = ldns_rr_list_rr(list, index) else { continue }
            rest.append(try convert(rr))
        }
        return (soa, rest)
    }
}

/// Finds SOA records by reading the zone text's structure (owner, TTL, class, type), without libldns.
enum ZoneFileScanner {
    /// The 1-based lines on which an SOA record starts.
    static func soaLines(in text: String) -> [Int] {
        var result: [Int] = []
        var depth = 0
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let startsWithBlank = rawLine.first == " " || rawLine.first == "\t"
            let tokens = tokenize(rawLine)
            let wasInside = depth > 0
            for token in tokens {
                if token == "(" { depth += 1 }
                if token == ")" { depth = max(0, depth - 1) }
            }
            if wasInside { continue }
            var fields = tokens.filter { $0 != "(" && $0 != ")" }[...]
            guard let first = fields.first, !first.hasPrefix("$") else { continue }
            if !startsWithBlank { fields = fields.dropFirst() }
            for _ in 0..<2 {
                guard let field = fields.first else { break }
                if isTTL(field) || ["IN", "CH", "HS", "CS"].contains(field.uppercased()) {
                    fields = fields.dropFirst()
                }
            }
            if fields.first?.uppercased() == "SOA" { result.append(index + 1) }
        }
        return result
    }

    private static func isTTL(_ field: String) -> Bool {
        guard let first = field.first, first.isNumber else { return false }
        return field.allSatisfy { $0.isNumber || "smhdwSMHDW".contains($0) }
    }

    /// Splits on blanks, drops a `;` comment, keeps quoted strings whole and parentheses as tokens.
    private static func tokenize(_ line: Substring) -> [String] {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            switch character {
            case "\\":
                current.append(character)
                escaped = true
            case "\"":
                quoted.toggle()
                current.append(character)
            case ";" where !quoted:
                if !current.isEmpty { tokens.append(current) }
                return tokens
            case "(" where !quoted, ")" where !quoted:
                if !current.isEmpty { tokens.append(current) }
                current = ""
                tokens.append(String(character))
            case " " where !quoted, "\t" where !quoted, "\r" where !quoted:
                if !current.isEmpty { tokens.append(current) }
                current = ""
            default:
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }
}
