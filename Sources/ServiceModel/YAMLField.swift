// YAMLField: a YAML node together with its Kubernetes field path, so every problem can name where it is.

import Yams

/// A node of a parsed manifest and the path that leads to it (`spec.ports[1].port`).
///
/// Scalars are read as their text, never through YAML 1.1 type resolution, so that a hostname `on` stays a
/// string and a port reads the same written `80` or `"80"`.
struct YAMLField {
    let node: Node
    /// The Kubernetes field path; empty for an object's root.
    let path: String

    /// A plain `null`, `~` or empty scalar: YAML's null, which Kubernetes treats as an absent field.
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The text of a non-null scalar; `nil` for mappings, lists and null.
    var text: String? {
        guard case .scalar(let scalar) = node, !isNull else { return nil }
        return scalar.string
    }

    /// The entries of a mapping whose keys are scalars; `nil` when this is not a mapping.
    var entries: [(key: String, value: YAMLField)]? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.compactMap { pair in
            guard case .scalar(let key) = pair.key else { return nil }
            return (key.string, YAMLField(node: pair.value, path: "\(path)[\(key.string)]"))
        }
    }

    /// The elements of a list, each with its index in the path; `nil` when this is not a list.
    var elements: [YAMLField]? {
        guard case .sequence(let sequence) = node else { return nil }
        return sequence.enumerated().map { YAMLField(node: $0.element, path: "\(path)[\($0.offset)]") }
    }

    /// What the node is, for "expected …, found …" reasons.
    var shape: String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar, .alias: isNull ? "null" : "a scalar"
        }
    }

    /// The field `key` of a mapping; `nil` when this is not a mapping, or the key is absent or null.
    func child(_ key: String) -> YAMLField? {
        guard case .mapping(let mapping) = node else { return nil }
        for pair in mapping {
            guard case .scalar(let name) = pair.key, name.string == key else { continue }
            let field = YAMLField(node: pair.value, path: path.isEmpty ? key : "\(path).\(key)")
            return field.isNull ? nil : field
        }
        return nil
    }

    /// The path of a field below this one, whether or not it is present (for "required" problems).
    func path(of key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}
