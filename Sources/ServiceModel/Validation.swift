// Validation: the name and number rules Kubernetes applies (k8s.io/apimachinery/pkg/util/validation), as reasons.

/// Each check returns `nil` when the value is valid, else the reason to print after the field path.
enum Validation {
    /// RFC 1123 label: lower case letters, digits and '-', starting and ending with a letter or digit, at most 63.
    static func dns1123Label(_ text: String) -> String? {
        label(text, kind: "DNS-1123 label", mustStartWithLetter: false)
    }

    /// RFC 1035 label: as a DNS-1123 label, but starting with a letter (Service names must be, so that
    /// `<svc>.<ns>.svc` never looks like an IP address).
    static func dns1035Label(_ text: String) -> String? {
        label(text, kind: "DNS-1035 label", mustStartWithLetter: true)
    }

    /// RFC 1123 subdomain: dot-separated DNS-1123 labels, at most 253 characters in all.
    static func dns1123Subdomain(_ text: String) -> String? {
        let kind = "DNS-1123 subdomain"
        guard !text.isEmpty else { return "\"\" is not a \(kind) (it is empty)" }
        guard text.utf8.count <= 253 else { return "\(quoted(text)) is not a \(kind) (at most 253 characters)" }
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { return "\(quoted(text)) is not a \(kind) (empty label between dots)" }
            if let problem = labelProblem(Substring(part), mustStartWithLetter: false) {
                return "\(quoted(text)) is not a \(kind) (\(problem))"
            }
        }
        return nil
    }

    /// IANA service name (RFC 6335 §5.1), as Kubernetes requires for a named `targetPort`.
    static func ianaServiceName(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        let dash = UInt8(ascii: "-")
        let valid =
            (1...15).contains(bytes.count)
            && bytes.allSatisfy { isLowerAlnum($0) || $0 == dash }
            && bytes.contains { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
            && bytes.first != dash && bytes.last != dash
            && !text.contains("--")
        guard !valid else { return nil }
        return "\(quoted(text)) is not a port number or an IANA service name "
            + "(at most 15 lower case letters, digits and single '-', with at least one letter)"
    }

    /// A port number, 1-65535.
    static func port(_ value: Int, text: String) -> String? {
        (1...65535).contains(value) ? nil : notAPort(text)
    }

    static func notAPort(_ text: String) -> String {
        "\(quoted(text)) is not a port (1-65535)"
    }

    /// The text in double quotes, cut short so one bad value cannot flood a log line.
    static func quoted(_ text: String) -> String {
        let shown = text.count > 80 ? text.prefix(77) + "..." : Substring(text)
        return "\"\(shown)\""
    }

    private static func label(_ text: String, kind: String, mustStartWithLetter: Bool) -> String? {
        guard !text.isEmpty else { return "\"\" is not a \(kind) (it is empty)" }
        guard let problem = labelProblem(Substring(text), mustStartWithLetter: mustStartWithLetter) else { return nil }
        return "\(quoted(text)) is not a \(kind) (\(problem))"
    }

    private static func labelProblem(_ text: Substring, mustStartWithLetter: Bool) -> String? {
        let bytes = text.utf8  // read in place: this runs for every hostname of every endpoint
        let dash = UInt8(ascii: "-")
        if !bytes.allSatisfy({ isLowerAlnum($0) || $0 == dash }) {
            return "lower case letters, digits and '-'"
        }
        if bytes.count > 63 {
            return "at most 63 characters"
        }
        if mustStartWithLetter, let first = bytes.first, !(UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) {
            return "must start with a letter"
        }
        if bytes.first == dash || bytes.last == dash {
            return "must start and end with a letter or digit"
        }
        return nil
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
