// Plain JSON is read without Yams; it must decode to exactly what Yams's reading gives, problems included.

import ServiceModel
import Testing

struct JSONFastPathTests {
    /// The same text read through Yams: a leading YAML comment makes it YAML that is not JSON, and changes
    /// nothing else (object problems carry no line).
    static func throughYAML(_ json: String, file: String) -> ManifestDecodeResult {
        ManifestDecoder.decode("# read as YAML\n" + json, file: file)
    }

    static func expectSame(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let fast = ManifestDecoder.decode(json, file: "f.json")
        let yams = throughYAML(json, file: "f.json")
        #expect(fast.objects == yams.objects, sourceLocation: sourceLocation)
        #expect(fast.problems.map(\.description) == yams.problems.map(\.description), sourceLocation: sourceLocation)
        #expect(fast.warnings.map(\.description) == yams.warnings.map(\.description), sourceLocation: sourceLocation)
    }

    static let list = """
        {"apiVersion":"v1","kind":"List","items":[
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop",
          "annotations":{"svcdns.io/health-check":"none","note":"a \\"quoted\\" word\\n\\t\\/ and caf\\u00e9 \\u2603"},
          "labels":{"app":"web","empty":"","nothing":null,"flag":true,"count":3}},
         "spec":{"clusterIP":"10.96.0.10","ports":[{"name":"http","port":80,"targetPort":"8080"},
                 {"name":"https","port":443,"protocol":"TCP","nodePort":3.0e4}],"publishNotReadyAddresses":false}},
        {"apiVersion":"v1","kind":"Service","metadata":{"name":"db","namespace":"shop"},
         "spec":{"clusterIP":"None","ports":[{"name":"pg","port":5432}],"publishNotReadyAddresses":null}},
        {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
         "metadata":{"name":"db-1","namespace":"shop","labels":{"kubernetes.io/service-name":"db"}},
         "addressType":"IPv4","endpoints":[
           {"addresses":["127.0.2.1"],"hostname":"db-0","conditions":{"ready":true,"serving":true,"terminating":false}},
           {"addresses":["127.0.2.2"],"hostname":"db-1","conditions":{"ready":false},"nodeName":"n1","zone":"z"},
           {"addresses":["127.0.2.3"],"conditions":{},"topology":{"kubernetes.io/hostname":"n2"}}],
         "ports":[{"name":"pg","port":5432,"protocol":"TCP"}]},
        {"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"db","namespace":"shop"},
         "subsets":[{"addresses":[{"ip":"127.0.2.1","hostname":"db-0"}],"notReadyAddresses":[],"ports":[{"port":5432}]}]},
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"}},
        {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm"},"data":{"k":"v"}},
        {"apiVersion":"v1","kind":"ServiceList","items":[{"metadata":{"name":"typed","namespace":"shop"},
          "spec":{"clusterIP":"10.96.0.11","ports":[]}}]}
        ]}
        """

    @Test func validListDecodesAsThroughYAML() {
        let fast = ManifestDecoder.decode(Self.list, file: "f.json")
        #expect(fast.problems.map(\.description) == [])
        #expect(fast.objects.count == 5)
        Self.expectSame(Self.list)
    }

    @Test func escapesDecodeAsYAMLDoubleQuotes() {
        let fast = ManifestDecoder.decode(Self.list, file: "f.json")
        guard case .service(let web) = fast.objects.first else {
            Issue.record("expected the Service first")
            return
        }
        #expect(web.annotations["note"] == "a \"quoted\" word\n\t/ and café ☃")
        #expect(web.labels["nothing"] == "")
        #expect(web.labels["count"] == "3")
    }

    /// Every problem an object can have is reported with the same message and path either way.
    @Test func objectProblemsAreTheSame() {
        Self.expectSame(
            """
            {"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"Bad_Name","namespace":"-x",
              "annotations":{"svcdns.io/health-interval":"2x"}},
             "spec":{"clusterIP":"10.96.0.300","ports":[{"port":70000},{"port":"80","targetPort":"no_such"}],
                     "ipFamilies":["IPv9"],"type":"Weird"}},
            {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"s","labels":[]},
             "endpoints":[{"addresses":["127.0.1.300", "::1"],"hostname":"UPPER","conditions":{"ready":"maybe"}},
                          "not a mapping", {"addresses":[]}],
             "ports":[{"name":"a","port":0},{"name":"a","port":1}]},
            {"apiVersion":"discovery.k8s.io/v2","kind":"EndpointSlice","metadata":{"name":"v2"}},
            {"apiVersion":"v1","kind":"EndpointSlice","metadata":{"name":"wrong-group"}},
            {"metadata":{"name":"nokind"}},
            "a scalar item", null, [1, 2],
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"ok"},"spec":{"clusterIP":"10.96.0.1"}}
            ]}
            """
        )
    }

    @Test func aSingleObjectAndAnEmptyOne() {
        Self.expectSame(#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"one"},"spec":{"clusterIP":"None"}}"#)
        Self.expectSame("{}")
        Self.expectSame("  {\r\n\"kind\" : \"List\" , \"apiVersion\":\"v1\" , \"items\" : [ ] }\n\n")
    }

    /// A List's items are read while it is parsed, before its kind is known; whatever the root turns out to
    /// be, the result is the one Yams's reading gives.
    @Test func itemsReadBeforeTheRootIsKnownDecodeAsThroughYAML() {
        let service = #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"None"}}"#
        let untyped = #"{"metadata":{"name":"b"},"spec":{"clusterIP":"10.96.0.2","ports":[{"port":99999}]}}"#
        for root in [
            #"{"apiVersion":"v1","items":[\#(service),\#(untyped)],"kind":"List","metadata":{"resourceVersion":""}}"#,
            #"{"items":[\#(service),\#(untyped)],"kind":"ServiceList","apiVersion":"v1"}"#,
            #"{"items":[\#(service)],"kind":"Service","apiVersion":"v1","metadata":{"name":"c"},"spec":{"clusterIP":"None"}}"#,
            #"{"items":[\#(service),\#(untyped)],"kind":"List"}"#,
            #"{"items":[\#(service)],"apiVersion":"discovery.k8s.io/v1","kind":"List"}"#,
        ] {
            Self.expectSame(root)
        }
    }

    @Test func aSyntaxErrorAfterTheItemsLeavesNoObjects() {
        let text = #"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"None"}}] oops}"#
        let result = ManifestDecoder.decode(text, file: "e.json")
        #expect(result.objects.isEmpty)
        #expect(result.problems.count == 1)
        #expect(result.problems.first?.line == 1)

        let items = #"[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"None"}}]"#
        let twice = ManifestDecoder.decode(#"{"apiVersion":"v1","kind":"List","items":\#(items),"items":[]}"#, file: "t.json")
        #expect(twice.objects.isEmpty)
        #expect(twice.problems.map(\.description) == ["t.json:1: duplicate key \"items\" in a mapping"])
    }

    /// Text the fast path does not take is read by Yams, so its problems keep Yams's messages and lines.
    @Test func syntaxErrorsKeepYAMLMessages() {
        let broken = ManifestDecoder.decode("{\"apiVersion\": \"v1\",\n \"kind\": \"Service\",\n \"metadata\": {\"name\": \"x\"\n", file: "b.json")
        #expect(broken.objects.isEmpty)
        #expect(broken.problems.count == 1)
        #expect(broken.problems.first?.line != nil)

        let duplicate = ManifestDecoder.decode(#"{"apiVersion":"v1","kind":"Service","kind":"Service"}"#, file: "d.json")
        #expect(duplicate.problems.map(\.description) == ["d.json:1: duplicate key \"kind\" in a mapping"])
    }

    /// JSON-looking text that YAML reads differently, or that only YAML accepts, still reads as YAML.
    @Test func yamlOnlyFormsFallBackToYams() {
        for text in [
            #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":{"clusterIP":"10.96.0.1",}}"#,
            "{\"apiVersion\":\"v1\",\t\"kind\":\"Service\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"None\"}}",
            #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"caf\x41"},"spec":{"clusterIP":"None"}}"#,
            #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x", annotations: {a: b}},"spec":{"clusterIP":"None"}}"#,
            "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"é\"},\"spec\":{\"clusterIP\":\"None\"}}",
            #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":{"clusterIP":"None","ports":[{"port":0x50}]}}"#,
            #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":{"clusterIP":"None","ports":[{"port":080}]}}"#,
            // A key near libyaml's 1024-character limit on simple keys.
            #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x","labels":{"\#(String(repeating: "k", count: 1030))":"v"}},"spec":{"clusterIP":"None"}}"#,
        ] {
            let fast = ManifestDecoder.decode(text, file: "y.json")
            let yams = Self.throughYAML(text, file: "y.json")
            #expect(fast.objects == yams.objects)
            // Lines differ by the comment's one; what went wrong, and where in the object, must not.
            #expect(fast.problems.count == yams.problems.count)
            #expect(fast.problems.map(\.field) == yams.problems.map(\.field))
            let shiftedLines = fast.problems.map(\.line).map { line in line.map { $0 + 1 } }
            #expect(shiftedLines == yams.problems.map(\.line))
        }
    }
}
