// YAMLField: a manifest node together with its Kubernetes field path, so every problem can name where it is.

import Yams

/// A parsed manifest as the readers see it: scalars as their text, mappings as ordered entries, lists.
///
/// Its own small tree rather than Yams's `Node`: reading a field of a Yams mapping copies every pair (its
/// iterator maps them all to tuples first), which at a million endpoints was most of the load time. YAML
/// is parsed by Yams and converted once (`init(_:)`); plain JSON is parsed straight into this tree by
/// `JSONManifestParser`.
enum ManifestNode: Sendable {
    /// A scalar's text, and whether it was written plain (unquoted): only a plain scalar can be null.
    case scalar(String, isPlain: Bool)
    case mapping([ManifestEntry])
    case sequence([ManifestNode])
    /// A YAML alias (`*name`), which manifests do not use; it reads as neither text nor a collection.
    case alias

    init(_ node: Node) {
        switch node {
        case .scalar(let scalar):
            self = .scalar(scalar.string, isPlain: scalar.style == .plain || scalar.style == .any)
        case .mapping(let mapping):
            var entries: [ManifestEntry] = []
            entries.reserveCapacity(mapping.count)
            for (key, value) in mapping {
                // Keys that are not scalars cannot name a field; they are kept only as entries no one finds.
                let name: String? = if case .scalar(let scalar) = key { scalar.string } else { nil }
                entries.append(ManifestEntry(key: name, value: ManifestNode(value)))
            }
            self = .mapping(entries)
        case .sequence(let sequence):
            self = .sequence(sequence.map(ManifestNode.init))
        case .alias:
            self = .alias
        }
    }
}

/// One entry of a mapping; `key` is nil when the key is not a scalar.
struct ManifestEntry: Sendable {
    let key: String?
    let value: ManifestNode
}

/// A node of a parsed manifest and the path that leads to it (`spec.ports[1].port`).
///
/// Scalars are read as their text, never through YAML 1.1 type resolution, so that a hostname `on` stays a
/// string and a port reads the same written `80` or `"80"`. The path is put together only when asked for
/// (a problem is reported, or a field below this one is read), not for every field read.
struct YAMLField {
    let node: ManifestNode
    /// The path of an ancestor; this field's path is it followed by `first`, then `second`.
    private let base: String
    private let first: Step
    private let second: Step

    /// How a field's path continues its parent's.
    private enum Step {
        case none
        /// `parent.key` (or `key` at an object's root).
        case key(String)
        /// `parent[key]`, an entry of a string map.
        case entry(String)
        /// `parent[index]`, an element of a list.
        case index(Int)

        func append(to path: String) -> String {
            switch self {
            case .none: path
            case .key(let key): path.isEmpty ? key : "\(path).\(key)"
            case .entry(let key): "\(path)[\(key)]"
            case .index(let index): "\(path)[\(index)]"
            }
        }
    }

    init(node: ManifestNode, path: String) {
        self.init(node: node, base: path, first: .none, second: .none)
    }

    private init(node: ManifestNode, base: String, first: Step, second: Step) {
        self.node = node
        self.base = base
        self.first = first
        self.second = second
    }

    /// A field below this one: its path is not written out yet, and of this one's only what two steps
    /// below an ancestor cannot hold (`endpoints[3]` of `endpoints[3].addresses[0]`).
    private func below(_ node: ManifestNode, _ step: Step) -> YAMLField {
        if case .none = first { return YAMLField(node: node, base: base, first: step, second: .none) }
        if case .none = second { return YAMLField(node: node, base: base, first: first, second: step) }
        return YAMLField(node: node, base: path, first: step, second: .none)
    }

    /// The Kubernetes field path; empty for an object's root.
    var path: String {
        second.append(to: first.append(to: base))
    }

    /// A plain `null`, `~` or empty scalar: YAML's null, which Kubernetes treats as an absent field.
    var isNull: Bool {
        guard case .scalar(let text, let isPlain) = node, isPlain else { return false }
        return Self.isNullText(text)
    }

    private static func isNullText(_ text: String) -> Bool {
        switch text {
        case "", "~", "null", "Null", "NULL": true
        default: false
        }
    }

    /// The text of a non-null scalar; `nil` for mappings, lists and null.
    var text: String? {
        guard case .scalar(let text, let isPlain) = node, !(isPlain && Self.isNullText(text)) else { return nil }
        return text
    }

    /// True when this is a mapping.
    var isMapping: Bool {
        if case .mapping = node { true } else { false }
    }

    /// True when this is a list.
    var isList: Bool {
        if case .sequence = node { true } else { false }
    }

    /// The entries of a mapping whose keys are scalars; `nil` when this is not a mapping.
    var entries: [(key: String, value: YAMLField)]? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.compactMap { entry in
            guard let key = entry.key else { return nil }
            return (key, below(entry.value, .entry(key)))
        }
    }

    /// The elements of a list, each with its index in the path; `nil` when this is not a list.
    var elements: [YAMLField]? {
        guard case .sequence(let sequence) = node else { return nil }
        // One shared base for every element, written out once.
        let parent = settled
        var elements: [YAMLField] = []
        elements.reserveCapacity(sequence.count)
        for (index, element) in sequence.enumerated() {
            elements.append(parent.below(element, .index(index)))
        }
        return elements
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
        for entry in mapping where entry.key == key {
            let field = below(entry.value, .key(key))
            return field.isNull ? nil : field
        }
        return nil
    }

    /// The field with its path written out when it is two steps below its base, so that the fields below
    /// it (the elements of a list) share that one string rather than each writing it again.
    var settled: YAMLField {
        if case .none = second { return self }
        return YAMLField(node: node, base: path, first: .none, second: .none)
    }

    /// The path of a field below this one, whether or not it is present (for "required" problems).
    func path(of key: String) -> String {
        let path = self.path
        return path.isEmpty ? key : "\(path).\(key)"
    }
}
