/// What `dig` or `kdig` printed, read back: status, flags and the records of each section.
/// Records are canonicalised by libldns so they compare with `Row` expectations.
public struct DigOutput: Sendable {
    public var status: String
    public var flags: Set<String>
    public var answer: [String]
    public var authority: [String]
    public var additional: [String]

    public init(parsing text: String) throws {
        status = ""
        flags = []
        answer = []
        authority = []
        additional = []
        var section: String? = nil
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine).trimmed(" \t")
            if let range = line.range(of: "status: ") {
                status = String(line[range.upperBound...].prefix { $0.isLetter })
            }
            if line.lowercased().hasPrefix(";; flags: ") {
                let list = line.dropFirst(";; flags: ".count).prefix { $0 != ";" }
                flags = Set(list.split(separator: " ").map(String.init))
            }
            if line.hasPrefix(";; ") && line.hasSuffix(" SECTION:") {
                section = String(line.dropFirst(3).dropLast(" SECTION:".count))
                continue
            }
            if line.isEmpty { section = nil; continue }
            if line.hasPrefix(";") { continue }
            let record = try LDNS.canonical(line)
            switch section {
            case "ANSWER", nil: answer.append(record)  // +noall +answer prints records with no heading
            case "AUTHORITY": authority.append(record)
            case "ADDITIONAL": additional.append(record)
            default: break
            }
        }
    }
}

extension String {
    fileprivate func trimmed(_ characters: String) -> String {
        var text = Substring(self)
        while let first = text.first, characters.contains(first) { text = text.dropFirst() }
        while let last = text.last, characters.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
