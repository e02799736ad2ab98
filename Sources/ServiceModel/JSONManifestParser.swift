// JSONManifestParser: plain JSON manifests straight into a ManifestNode tree, without Yams.

/// Reads a manifest written as one JSON object (what `kubectl get -o json` and the API write) into the
/// same tree Yams's reading would give, several times faster.
///
/// It reads only what it can read exactly as Yams (libyaml) would: printable ASCII, JSON's own escapes,
/// keys of at most 1024 characters on the line of their value, no duplicate keys. For anything else —
/// including every syntax error — it returns nil and the caller parses the text with Yams, so problems
/// are reported with Yams's messages and lines, and YAML written to look like JSON still reads as YAML.
struct JSONManifestParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var depth = 0
    /// When set, each element of the root's `items` list is handed here as soon as it is parsed, with its
    /// index, and not kept: the root then holds an empty `items` list.
    private let onItem: ((ManifestNode, Int) -> Void)?

    /// Deeper nesting than any manifest has is left to Yams.
    private static let maxDepth = 256
    /// Keys longer than this (as written) are left to Yams: libyaml limits a simple key to 1024 characters.
    private static let maxKeyLength = 1000

    private init(bytes: UnsafeBufferPointer<UInt8>, onItem: ((ManifestNode, Int) -> Void)?) {
        self.bytes = bytes
        self.onItem = onItem
    }

    /// The tree of `text` when it is one JSON object this parser reads as Yams would; nil otherwise.
    ///
    /// - Parameter onItem: If given, takes each element of the root's `items` list as it is parsed (see
    ///   `onItem`). It may have been called for some or all items even when the result is nil.
    static func parse(_ text: String, onItem: ((ManifestNode, Int) -> Void)? = nil) -> ManifestNode? {
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.first == UInt8(ascii: "{") || bytes.first.map(isWhitespace) == true else { return nil }
            var parser = JSONManifestParser(bytes: bytes, onItem: onItem)
            return parser.document()
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D
    }

    private mutating func document() -> ManifestNode? {
        skipWhitespace()
        guard peek == UInt8(ascii: "{"), let root = value() else { return nil }
        skipWhitespace()
        return position == bytes.count ? root : nil
    }

    private var peek: UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    /// Skips spaces and line breaks; tabs are not taken (YAML does not allow them everywhere JSON does).
    /// Returns whether a line break was skipped.
    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        var lineBreak = false
        while position < bytes.count {
            switch bytes[position] {
            case 0x20: break
            case 0x0A, 0x0D: lineBreak = true
            default: return lineBreak
            }
            position += 1
        }
        return lineBreak
    }

    private mutating func value() -> ManifestNode? {
        guard let byte = peek else { return nil }
        switch byte {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string().map { .scalar($0, isPlain: false) }
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return nil
        }
    }

    private mutating func object() -> ManifestNode? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return nil }
        position += 1  // {
        var entries: [ManifestEntry] = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            position += 1
            return .mapping(entries)
        }
        while true {
            let keyStart = position
            // The raw key, quotes and escapes included, well inside libyaml's limit on a simple key.
            guard peek == UInt8(ascii: "\""), let key = string(), position - keyStart <= Self.maxKeyLength else { return nil }
            // A simple key must be on one line with its ':' (libyaml); JSON would allow a break there.
            guard !skipWhitespace(), peek == UInt8(ascii: ":") else { return nil }
            position += 1
            skipWhitespace()
            let value: ManifestNode?
            if depth == 1, let onItem, key == "items", peek == UInt8(ascii: "[") {
                value = streamedArray(onItem)
            } else {
                value = self.value()
            }
            guard let value else { return nil }
            // Yams rejects duplicate keys; its message is the one to report.
            for entry in entries where entry.key == key { return nil }
            entries.append(ManifestEntry(key: key, value: value))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                return .mapping(entries)
            default:
                return nil
            }
        }
    }

    private mutating func array() -> ManifestNode? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { return nil }
        position += 1  // [
        var elements: [ManifestNode] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            position += 1
            return .sequence(elements)
        }
        while true {
            guard let value = value() else { return nil }
            elements.append(value)
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                return .sequence(elements)
            default:
                return nil
            }
        }
    }

    /// The root's `items`: each element handed on as soon as it is parsed; an empty list stands for them.
    private mutating func streamedArray(_ onItem: (ManifestNode, Int) -> Void) -> ManifestNode? {
        position += 1  // [
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            position += 1
            return .sequence([])
        }
        var index = 0
        while true {
            guard let value = value() else { return nil }
            onItem(value, index)
            index += 1
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                return .sequence([])
            default:
                return nil
            }
        }
    }

    /// A string's text, escapes decoded; nil for anything but printable ASCII and JSON's escapes of it.
    private mutating func string() -> String? {
        position += 1  // opening quote
        let start = position
        var escaped = false
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                break
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                position += 2
                continue
            } else if byte < 0x20 || byte > 0x7E {
                return nil
            }
            position += 1
        }
        guard position < bytes.count else { return nil }
        let end = position
        position += 1  // closing quote
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        return escaped ? Self.unescape(raw) : String(decoding: raw, as: UTF8.self)
    }

    private static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < raw.count else { return nil }
            let escape = raw[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard index + 4 <= raw.count else { return nil }
                var code: UInt32 = 0
                for digit in raw[index..<index + 4] {
                    guard let value = hexValue(digit) else { return nil }
                    code = code << 4 | value
                }
                index += 4
                // Control characters and surrogate halves are left to Yams, which has its own view of them.
                guard code >= 0x20, !(0xD800...0xDFFF).contains(code), let scalar = Unicode.Scalar(code) else { return nil }
                out.append(contentsOf: String(Character(scalar)).utf8)
            default:
                return nil
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ digit: UInt8) -> UInt32? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(digit - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(digit - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(digit - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private mutating func literal(_ word: StaticString) -> ManifestNode? {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { return nil }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] {
            return nil
        }
        position += count
        guard endsToken else { return nil }
        return .scalar(word.description, isPlain: true)
    }

    /// A number as JSON writes it, kept as its text (a plain scalar, as YAML reads it).
    private mutating func number() -> ManifestNode? {
        let start = position
        func digits() -> Int {
            let first = position
            while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { position += 1 }
            return position - first
        }
        if peek == UInt8(ascii: "-") { position += 1 }
        let integer = position
        guard digits() > 0, bytes[integer] != UInt8(ascii: "0") || position - integer == 1 else { return nil }
        if peek == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { return nil }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { return nil }
        }
        guard endsToken else { return nil }
        return .scalar(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self), isPlain: true)
    }

    /// True when a literal or number ends here: at the end, or before a separator, closer or space.
    private var endsToken: Bool {
        guard let byte = peek else { return true }
        return Self.isWhitespace(byte) || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]")
            || byte == UInt8(ascii: "}")
    }
}
