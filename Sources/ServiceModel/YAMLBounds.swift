// YAMLBounds: a pass over a YAML file's events before it is composed, refusing what would cost far more than its size.

import CYaml

/// The limits on one YAML file, checked on libyaml's event stream, which costs time linear in the text and no tree.
///
/// Composing YAML is not linear in its size: an alias stands for its whole anchored node, so nine lines of
/// nested aliases (the "billion laughs") stand for a billion nodes, which reading the manifest would walk (and
/// a duplicate-key check would hash, when an alias is a key). Manifests have no use for aliases, so their
/// expansion is capped well below anything harmful and far above anything written by hand. Nesting is capped
/// too: composing recurses once per level, and a file of ten thousand `[` would overflow the stack.
enum YAMLBounds {
    /// Nodes that aliases may stand for in one file, all aliases counted together.
    static let maxAliasNodes = 100_000
    /// Nesting of collections. A Kubernetes object nests a dozen levels, managedFields included.
    static let maxDepth = 100

    /// The first bound `text` breaks, as a problem of `file` at the line where it is broken; nil when it keeps
    /// them all, and also when libyaml cannot parse it (the composer then reports the syntax error).
    static func check(_ text: String, file: String) -> ManifestError? {
        var text = text
        return text.withUTF8 { bytes in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
            var walk = Walk()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                if let reason = walk.step(event) {
                    return ManifestError(file: file, line: Int(event.start_mark.line) + 1, reason: reason)
                }
            }
        }
    }

    /// The open collections and the size of each anchored node, in nodes after alias expansion.
    private struct Walk {
        /// Per open collection: its anchor, and its nodes so far (itself included).
        var open: [(anchor: String?, nodes: Int)] = []
        var anchored: [String: Int] = [:]
        var aliasNodes = 0

        /// Nil while within bounds, else the reason. Every sum saturates: the sizes being counted are the ones
        /// that may be astronomically large.
        mutating func step(_ event: yaml_event_t) -> String? {
            switch event.type {
            case YAML_DOCUMENT_START_EVENT:
                // Anchors are per document (YAML 1.2 §3.2.2.2).
                anchored.removeAll()
                open.removeAll()
            case YAML_SCALAR_EVENT:
                finish(anchor: Self.text(event.data.scalar.anchor), nodes: 1)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                guard open.count < maxDepth else {
                    return "collections nested more than \(maxDepth) deep"
                }
                let anchor =
                    event.type == YAML_SEQUENCE_START_EVENT
                    ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                open.append((Self.text(anchor), 1))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let closed = open.popLast() else { break }
                finish(anchor: closed.anchor, nodes: closed.nodes)
            case YAML_ALIAS_EVENT:
                // An undefined alias counts as nothing here; composing reports it.
                let nodes = Self.text(event.data.alias.anchor).flatMap { anchored[$0] } ?? 0
                aliasNodes = Self.add(aliasNodes, nodes)
                guard aliasNodes <= maxAliasNodes else {
                    return "YAML aliases expand to more than \(maxAliasNodes) nodes (a manifest needs none)"
                }
                finish(anchor: nil, nodes: nodes)
            default:
                break
            }
            return nil
        }

        private mutating func finish(anchor: String?, nodes: Int) {
            if let anchor { anchored[anchor] = nodes }
            if !open.isEmpty {
                open[open.count - 1].nodes = Self.add(open[open.count - 1].nodes, nodes)
            }
        }

        private static func add(_ a: Int, _ b: Int) -> Int {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .max : sum
        }

        private static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: $0) }
        }
    }
}
