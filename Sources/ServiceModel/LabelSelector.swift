// LabelSelector: a Kubernetes label selector in its text form (`env=prod,tier!=cache`, `env in (prod,staging)`,
// `!legacy`), read with the API's own grammar and rules for keys and values.

/// Requirements on a map of labels, all of which must hold (`--labels`).
public struct LabelSelector: Hashable, Sendable, CustomStringConvertible {
    public enum Operator: Hashable, Sendable {
        case equals, notEquals, `in`, notIn, exists, doesNotExist
    }

    public struct Requirement: Hashable, Sendable {
        public var key: String
        public var op: Operator
        public var values: [String]
    }

    public let requirements: [Requirement]
    /// The text it was read from.
    public let description: String

    /// Why a selector's text is not one.
    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads `text`; every requirement is separated from the next by a comma, and spaces between the parts are
    /// ignored. Throws with the position and what was expected there.
    public init(parsing text: String) throws(ParseError) {
        var reader = Reader(Array(text.unicodeScalars), text: text)
        var requirements: [Requirement] = []
        repeat {
            requirements.append(try reader.requirement())
            reader.skipSpaces()
        } while try reader.comma()
        guard reader.atEnd else { throw reader.error("expected ',' or the end") }
        self.requirements = requirements
        self.description = text
    }

    /// Whether `labels` meets every requirement. `!=` and `notin` hold for a label that is not there, as in
    /// Kubernetes.
    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            let value = labels[requirement.key]
            switch requirement.op {
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            case .equals: return value == requirement.values[0]
            case .notEquals: return value != requirement.values[0]
            case .in: return value.map(requirement.values.contains) ?? false
            case .notIn: return !(value.map(requirement.values.contains) ?? false)
            }
        }
    }

    /// The Kubernetes rules for label keys (`[prefix/]name`) and values.
    static func keyProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return "a label key has at most one '/'" }
        if parts.count == 2, let problem = Validation.dns1123Subdomain(String(parts[0])) {
            return "the prefix of \(Validation.quoted(key)): \(problem)"
        }
        let name = String(parts[parts.count - 1])
        guard !name.isEmpty else { return "\(Validation.quoted(key)) has an empty name" }
        return valueProblem(name).map { _ in
            "the name of \(Validation.quoted(key)) is not 1-63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit"
        }
    }

    static func valueProblem(_ value: String) -> String? {
        guard !value.isEmpty else { return nil }
        let scalars = Array(value.unicodeScalars)
        let isAlphanumeric = { (c: Unicode.Scalar) in c.isASCII && (("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)) }
        guard scalars.count <= 63, isAlphanumeric(scalars.first!), isAlphanumeric(scalars.last!),
            scalars.allSatisfy({ isAlphanumeric($0) || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            return "\(Validation.quoted(value)) is not a label value: at most 63 letters, digits, '-', '_' or '.', "
                + "beginning and ending with a letter or digit"
        }
        return nil
    }

    private struct Reader {
        let scalars: [Unicode.Scalar]
        let text: String
        var position = 0

        init(_ scalars: [Unicode.Scalar], text: String) {
            self.scalars = scalars
            self.text = text
        }

        var atEnd: Bool { position >= scalars.count }
        var next: Unicode.Scalar? { atEnd ? nil : scalars[position] }

        func error(_ expected: String) -> ParseError {
            ParseError(description: "\(Validation.quoted(text)) is not a label selector: at character \(position + 1), \(expected)")
        }

        mutating func skipSpaces() {
            while let c = next, c == " " || c == "\t" { position += 1 }
        }

        /// A key or a value: letters, digits and `-_./`.
        mutating func word() -> String {
            var word = ""
            while let c = next, c.isASCII, c.properties.isAlphabetic || ("0"..."9").contains(c) || "-_./".unicodeScalars.contains(c) {
                word.unicodeScalars.append(c)
                position += 1
            }
            return word
        }

        mutating func comma() throws(ParseError) -> Bool {
            guard next == "," else { return false }
            position += 1
            return true
        }

        mutating func key() throws(ParseError) -> String {
            skipSpaces()
            let key = word()
            guard !key.isEmpty else { throw error("expected a label key") }
            if let problem = LabelSelector.keyProblem(key) { throw ParseError(description: problem) }
            return key
        }

        mutating func value() throws(ParseError) -> String {
            skipSpaces()
            let value = word()
            if let problem = LabelSelector.valueProblem(value) { throw ParseError(description: problem) }
            return value
        }

        mutating func requirement() throws(ParseError) -> Requirement {
            skipSpaces()
            if next == "!" {
                position += 1
                return Requirement(key: try key(), op: .doesNotExist, values: [])
            }
            let key = try key()
            skipSpaces()
            switch next {
            case nil, ",":
                return Requirement(key: key, op: .exists, values: [])
            case "=":
                position += 1
                if next == "=" { position += 1 }
                return Requirement(key: key, op: .equals, values: [try value()])
            case "!":
                position += 1
                guard next == "=" else { throw error("expected '!='") }
                position += 1
                return Requirement(key: key, op: .notEquals, values: [try value()])
            default:
                let start = position
                let word = word()
                let op: Operator
                switch word {
                case "in": op = .in
                case "notin": op = .notIn
                default:
                    position = start
                    throw error("expected '=', '==', '!=', 'in' or 'notin' after \(Validation.quoted(key))")
                }
                skipSpaces()
                guard next == "(" else { throw error("expected '(' after '\(word)'") }
                position += 1
                var values: [String] = []
                while true {
                    values.append(try value())
                    skipSpaces()
                    if next == ")" { break }
                    guard try comma() else { throw error("expected ',' or ')'") }
                }
                position += 1
                return Requirement(key: key, op: op, values: values)
            }
        }
    }
}
