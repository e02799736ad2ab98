// ManifestDecoder: manifest text (YAML documents or JSON) → validated objects, problems and warnings.

import Yams

/// Decodes Kubernetes manifests: several YAML documents per file, JSON, and `List` objects with `items`, as
/// `kubectl get svc,endpointslices,endpoints -A -o yaml` prints them.
public enum ManifestDecoder {
    /// Decodes every document of one file. A bad object becomes a problem and is left out; good objects in the same
    /// file are still returned. Text that does not parse as YAML (or JSON) yields one problem with its line and
    /// nothing else, since nothing after the error can be trusted.
    ///
    /// - Parameters:
    ///   - text: The file's contents.
    ///   - file: The name problems are reported under.
    public static func decode(_ text: String, file: String) -> ManifestDecodeResult {
        if let streamed = decodeStreamingList(text, file: file) {
            return streamed
        }
        var documents: [ManifestNode] = []
        if let root = JSONManifestParser.parse(text) {
            // Plain JSON (what kubectl -o json and the API write): read directly, as Yams would read it.
            documents.append(root)
        } else {
            // Before any tree is built: aliases and nesting could make one far larger than the text.
            if let problem = YAMLBounds.check(text, file: file) {
                return ManifestDecodeResult(problems: [problem])
            }
            do {
                // compose_all keeps each scalar's text; Yams.load would resolve YAML 1.1 types (`on` → true).
                var sequence = try Yams.compose_all(yaml: text)
                while let document = sequence.next() {
                    documents.append(ManifestNode(document))
                }
                if let error = sequence.error { throw error }
            } catch {
                return ManifestDecodeResult(problems: [syntaxProblem(error, text: text, file: file)])
            }
        }
        var decoding = FileDecoding(file: file)
        for (index, document) in documents.enumerated() {
            let root = YAMLField(node: document, path: "")
            guard !root.isNull else { continue }
            decoding.decodeObject(root, locator: "document \(index + 1)", listItems: nil)
        }
        return decoding.result
    }

    /// True when `text` is plain JSON that `decode` reads without Yams (for the fuzz target that checks both
    /// readings agree).
    package static func readsAsPlainJSON(_ text: String) -> Bool {
        JSONManifestParser.parse(text) != nil
    }

    /// A plain JSON `List` (kind `List`, apiVersion `v1`, as `kubectl get -o json` prints several kinds) has
    /// each item read as soon as it is parsed, and its tree dropped: a tree of the whole file would be several
    /// times the file's size, and read back long after it left the cache. The items are read as items of a
    /// `List` before the root's own kind is known (kubectl writes `kind` after `items`); when the root turns
    /// out to be anything else, or the text is not JSON this parser takes, the result is dropped (nil) and the
    /// file is read the ordinary way.
    private static func decodeStreamingList(_ text: String, file: String) -> ManifestDecodeResult? {
        var items = FileDecoding(file: file)
        var streamed = false
        let root = JSONManifestParser.parse(text) { item, index in
            streamed = true
            let locator = "items[\(index)]"
            items.decodeObject(YAMLField(node: item, path: locator), locator: locator, listItems: nil)
        }
        guard streamed, let root else { return nil }
        let field = YAMLField(node: root, path: "")
        guard FileDecoding.isGenericList(kind: field.child("kind")?.text, apiVersion: field.child("apiVersion")?.text)
        else { return nil }
        return items.result
    }

    private static func syntaxProblem(_ error: any Error, text: String, file: String) -> ManifestError {
        func withContext(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context, !context.text.isEmpty else { return problem }
            return "\(problem) (\(context.text) at line \(context.mark.line))"
        }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return ManifestError(file: file, line: mark.line, reason: withContext(problem, context))
        case .reader(let problem, let offset, _, _):
            let line = offset.map { text.prefix($0).reduce(1) { $1 == "\n" ? $0 + 1 : $0 } }
            return ManifestError(file: file, line: line, reason: problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { Validation.quoted($0) }.joined(separator: ", ")
            return ManifestError(file: file, line: context.mark.line, reason: "duplicate key \(keys) in a mapping")
        default:
            return ManifestError(file: file, reason: "\(error)")
        }
    }
}

/// The objects, problems and warnings of one file, gathered document by document and item by item.
private struct FileDecoding {
    let file: String
    var result = ManifestDecodeResult()

    /// The kinds svcdns serves, keyed by API group, and the versions of each.
    private static let served: [String: [String: [String]]] = [
        "": ["Service": ["v1"], "Endpoints": ["v1"]],
        "discovery.k8s.io": ["EndpointSlice": ["v1", "v1beta1"]],
    ]

    /// List kinds and the kind of their items (`nil`: items name their own kind).
    private static let lists: [String: [String: String?]] = [
        "": ["List": nil, "ServiceList": "Service", "EndpointsList": "Endpoints"],
        "discovery.k8s.io": ["EndpointSliceList": "EndpointSlice"],
    ]

    /// True when an object of this kind and apiVersion is decoded as a `List` whose items name their own kind.
    static func isGenericList(kind: String?, apiVersion: String?) -> Bool {
        guard let kind, let apiVersion else { return false }
        let group = apiVersion.contains("/") ? String(apiVersion.prefix { $0 != "/" }) : ""
        guard let itemKind = lists[group]?[kind] else { return false }
        return itemKind == nil
    }

    /// Decodes one object, or each item of a list.
    ///
    /// - Parameters:
    ///   - locator: Where the object sits (`document 2`, `items[3]`), to name it when its own name is unreadable.
    ///   - listItems: For the items of a typed list (`ServiceList`): the apiVersion and kind an item may leave out,
    ///     as the API server's list responses do.
    mutating func decodeObject(_ root: YAMLField, locator: String, listItems: (apiVersion: String, kind: String)?) {
        guard root.isMapping else {
            result.problems.append(
                ManifestError(
                    file: file,
                    object: locator,
                    reason:
                        "expected a Kubernetes object (a mapping with apiVersion, kind and metadata), "
                        + "found \(root.shape)"
                )
            )
            return
        }
        let kind = root.child("kind")?.text ?? listItems?.kind
        let apiVersion = root.child("apiVersion")?.text ?? listItems?.apiVersion
        let metadata = root.child("metadata")
        let name = metadata?.child("name")?.text.flatMap { $0.isEmpty ? nil : $0 }
        let namespace = metadata?.child("namespace")?.text.flatMap { $0.isEmpty ? nil : $0 }
        let object = "\(kind ?? "object") \(name.map { "\(namespace ?? "default")/\($0)" } ?? locator)"

        guard let kind, let apiVersion else {
            if kind == nil { problem(object, "kind", "required") }
            if apiVersion == nil { problem(object, "apiVersion", "required") }
            return
        }
        let group = apiVersion.contains("/") ? String(apiVersion.prefix { $0 != "/" }) : ""

        if let itemKind = Self.lists[group]?[kind] {
            decodeItems(of: root, object: object, itemDefaults: itemKind.map { (apiVersion, $0) })
            return
        }
        guard let versions = Self.served[group]?[kind] else {
            // A kind svcdns serves, written with an API group svcdns serves but the wrong one, is a mistake in the
            // manifest; the same kind name in another group (a CRD such as Knative's Service) is just not ours.
            if let servedGroup = Self.served.first(where: { $0.value[kind] != nil })?.key, Self.served[group] != nil {
                problem(object, "apiVersion", notServed(apiVersion, kind: kind, group: servedGroup))
                return
            }
            // Cluster-scoped kinds have no namespace; don't print `default/` for them.
            var skipped = locator
            if let name { skipped = namespace.map { "\($0)/\(name)" } ?? name }
            result.warnings.append(
                ManifestError(
                    file: file,
                    object: "\(kind) \(skipped)",
                    field: "kind",
                    reason: "not served by svcdns, skipped"
                )
            )
            return
        }
        let version = String(apiVersion.dropFirst(group.isEmpty ? 0 : group.count + 1))
        guard versions.contains(version) else {
            problem(object, "apiVersion", notServed(apiVersion, kind: kind, group: group))
            return
        }

        var reader = ObjectReader(file: file, object: object)
        let decoded: ManifestObject =
            switch kind {
            case "Service": .service(reader.readService(root))
            case "EndpointSlice": .endpointSlice(reader.readEndpointSlice(root))
            default: .endpoints(reader.readEndpoints(root))
            }
        if reader.problems.isEmpty {
            result.objects.append(decoded)
        } else {
            result.problems += reader.problems
        }
    }

    private mutating func decodeItems(of list: YAMLField, object: String, itemDefaults: (String, String)?) {
        guard let items = list.child("items") else { return }
        guard let elements = items.elements else {
            problem(object, "items", "expected a list, found \(items.shape)")
            return
        }
        for item in elements {
            decodeObject(item, locator: item.path, listItems: itemDefaults)
        }
    }

    private func notServed(_ apiVersion: String, kind: String, group: String) -> String {
        let versions = (Self.served[group]?[kind] ?? []).map { group.isEmpty ? $0 : "\(group)/\($0)" }
        return
            "\(Validation.quoted(apiVersion)) is not a served version of \(kind) (\(versions.joined(separator: ", ")))"
    }

    private mutating func problem(_ object: String, _ field: String, _ reason: String) {
        result.problems.append(ManifestError(file: file, object: object, field: field, reason: reason))
    }
}
