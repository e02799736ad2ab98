import Testing

@testable import ServiceModel

/// Label selectors as the Kubernetes API reads them: each requirement's meaning, the separators and spaces it
/// allows, and a clear error for what it does not.
@Suite struct LabelSelectorTests {
    static let prodWeb = ["env": "prod", "tier": "web"]
    static let prodCache = ["env": "prod", "tier": "cache"]
    static let staging = ["env": "staging"]
    static let legacy = ["env": "prod", "legacy": "true"]
    static let none: [String: String] = [:]

    /// A selector and which of the label sets above it matches, in order: prodWeb, prodCache, staging, legacy, none.
    @Test(arguments: [
        ("env=prod", [true, true, false, true, false]),
        ("env==prod", [true, true, false, true, false]),
        ("env!=prod", [false, false, true, false, true]),
        ("env=prod,tier!=cache", [true, false, false, true, false]),
        ("env in (prod,staging)", [true, true, true, true, false]),
        ("env in (staging)", [false, false, true, false, false]),
        ("tier notin (cache)", [true, false, true, true, true]),
        ("tier", [true, true, false, false, false]),
        ("!legacy", [true, true, true, false, true]),
        ("!tier", [false, false, true, true, true]),
        (" env = prod , !legacy ", [true, true, false, false, false]),
        ("env in ( prod , staging ),tier", [true, true, false, false, false]),
        ("app.kubernetes.io/name notin (x)", [true, true, true, true, true]),
    ] as [(String, [Bool])])
    func matches(text: String, expected: [Bool]) throws {
        let selector = try LabelSelector(parsing: text)
        let results = [Self.prodWeb, Self.prodCache, Self.staging, Self.legacy, Self.none].map(selector.matches)
        #expect(results == expected, "\(text)")
    }

    @Test(arguments: [
        ("", "at character 1, expected a label key"),
        ("env in prod", "at character 8, expected '(' after 'in'"),
        ("env in (prod", "at character 13, expected ',' or ')'"),
        ("env ~ prod", "at character 5, expected '=', '==', '!=', 'in' or 'notin' after \"env\""),
        ("env=prod,", "at character 10, expected a label key"),
        ("env=prod tier=web", "at character 10, expected ',' or the end"),
        ("env!prod", "at character 5, expected '!='"),
        ("-env=prod", "the name of \"-env\" is not 1-63 letters"),
        ("env=-prod", "\"-prod\" is not a label value"),
        ("a/b/c=x", "a label key has at most one '/'"),
        ("Bad_Prefix/name=x", "the prefix of \"Bad_Prefix/name\""),
    ] as [(String, String)])
    func rejects(text: String, reason: String) {
        #expect {
            _ = try LabelSelector(parsing: text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
