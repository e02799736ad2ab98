// ObjectReader: reads typed fields out of one manifest object and collects every problem it meets.

/// Reads the fields of one object. Each read reports what is wrong and carries on, so that one pass finds every
/// problem of the object; the decoder keeps the object only when `problems` stays empty.
struct ObjectReader {
    let file: String
    /// The object as problems name it, e.g. `Service default/web`.
    let object: String
    private(set) var problems: [ManifestError] = []

    init(file: String, object: String) {
        self.file = file
        self.object = object
    }

    mutating func report(_ path: String, _ reason: String) {
        problems.append(ManifestError(file: file, object: object, field: path, reason: reason))
    }

    /// The text of a scalar field; `nil` when absent, and reported when it is not a scalar.
    mutating func text(_ field: YAMLField?) -> String? {
        guard let field else { return nil }
        guard let text = field.text else {
            report(field.path, "expected a string, found \(field.shape)")
            return nil
        }
        return text
    }

    /// As `text`, but an empty string counts as absent, as Kubernetes' `omitempty` fields do.
    mutating func nonEmptyText(_ field: YAMLField?) -> String? {
        guard let text = text(field), !text.isEmpty else { return nil }
        return text
    }

    /// The field if it is a mapping; `nil` when absent, and reported when it is something else.
    mutating func mapping(_ field: YAMLField?) -> YAMLField? {
        guard let field else { return nil }
        guard field.isMapping else {
            report(field.path, "expected a mapping, found \(field.shape)")
            return nil
        }
        return field
    }

    /// The elements of a list field; empty when absent, and reported when it is not a list.
    mutating func list(_ field: YAMLField?) -> [YAMLField] {
        guard let field else { return [] }
        guard let elements = field.elements else {
            report(field.path, "expected a list, found \(field.shape)")
            return []
        }
        return elements
    }

    /// The elements of a list that must each be a mapping (`ports`, `endpoints`, …); others are reported and dropped.
    mutating func mappings(_ field: YAMLField?) -> [YAMLField] {
        list(field).compactMap { mapping($0) }
    }

    /// A boolean field; `nil` when absent. YAML 1.2 spellings only: `yes` and `on` are strings in JSON, and to the
    /// API server.
    mutating func bool(_ field: YAMLField?) -> Bool? {
        guard let field, let text = text(field) else { return nil }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            report(field.path, "\(Validation.quoted(text)) is not a boolean (true or false)")
            return nil
        }
    }

    /// A port number field, 1-65535; `nil` when absent or invalid (then reported), or when required and missing.
    mutating func port(_ field: YAMLField?, required requiredPath: String? = nil) -> Int? {
        guard let field else {
            if let requiredPath { report(requiredPath, "required") }
            return nil
        }
        guard let text = text(field) else { return nil }
        guard let value = Self.integer(text), Validation.port(value, text: text) == nil else {
            report(field.path, Validation.notAPort(text))
            return nil
        }
        return value
    }

    /// A `protocol` field; `TCP` when absent, as Kubernetes defaults it.
    mutating func portProtocol(_ field: YAMLField?) -> PortProtocol {
        guard let field, let text = text(field) else { return .tcp }
        guard let value = PortProtocol(rawValue: text) else {
            report(field.path, "\(Validation.quoted(text)) is not a protocol (TCP, UDP, SCTP)")
            return .tcp
        }
        return value
    }

    /// A map of strings (`labels`, `annotations`, v1beta1 `topology`); scalar values are taken as their text.
    mutating func stringMap(_ field: YAMLField?) -> [String: String] {
        guard let field = mapping(field), let entries = field.entries else { return [:] }
        var map: [String: String] = [:]
        for (key, value) in entries {
            if value.isNull {
                map[key] = ""
            } else if let text = text(value) {
                map[key] = text
            }
        }
        return map
    }

    /// An optional name field checked by `rule`; an empty string counts as absent.
    mutating func name(_ field: YAMLField?, rule: (String) -> String?) -> String? {
        guard let field, let name = nonEmptyText(field) else { return nil }
        if let reason = rule(name) { report(field.path, reason) }
        return name
    }

    /// `targetRef.name` of an endpoint: the name of the object behind it (a pod's, a DNS-1123 subdomain).
    mutating func targetName(_ field: YAMLField?) -> String? {
        name(mapping(field)?.child("name"), rule: Validation.dns1123Subdomain)
    }

    /// `metadata`: the key (namespace defaulted to `default`), labels and annotations.
    mutating func metadata(
        of root: YAMLField,
        nameRule: (String) -> String?
    ) -> (key: ObjectKey, labels: [String: String], annotations: [String: String]) {
        let metadata = mapping(root.child("metadata"))
        let name = self.name(metadata?.child("name"), rule: nameRule)
        if name == nil { report("metadata.name", "required") }
        let namespace = self.name(metadata?.child("namespace"), rule: Validation.dns1123Label) ?? "default"
        return (
            ObjectKey(namespace: namespace, name: name ?? ""),
            stringMap(metadata?.child("labels")),
            stringMap(metadata?.child("annotations"))
        )
    }

    /// A decimal integer as Kubernetes writes it (an optional '-', then digits); `nil` for anything else,
    /// including values too large for `Int`.
    static func integer(_ text: String) -> Int? {
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard (1...18).contains(digits.utf8.count), digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return Int(text)
    }
}
