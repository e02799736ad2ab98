// ManifestDecoder on bad input: every problem of a file, each as the exact line a person would read.

import ServiceModel
import Testing

struct ManifestProblemTests {
    struct Row: CustomTestStringConvertible, Sendable {
        let label: String
        let yaml: String
        let problems: [String]
        var testDescription: String { label }
    }

    private static func service(_ spec: String, name: String = "web", namespace: String = "default") -> String {
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: \(name)
          namespace: \(namespace)
        spec:
        \(spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
        """
    }

    private static func slice(_ body: String, addressType: String = "IPv4") -> String {
        """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: web-abc
          labels: {kubernetes.io/service-name: web}
        addressType: \(addressType)
        \(body)
        """
    }

    static let rows: [Row] = [
        Row(
            label: "port out of range, with its index",
            yaml: service("clusterIP: 10.96.0.1\nports:\n- {name: http, port: 80}\n- {name: big, port: 70000}"),
            problems: ["f.yaml: Service default/web: spec.ports[1].port: \"70000\" is not a port (1-65535)"]
        ),
        Row(
            label: "missing clusterIP is not allocated",
            yaml: service("ports: [{port: 80}]"),
            problems: [
                "f.yaml: Service default/web: spec.clusterIP: required: svcdns does not allocate ClusterIPs "
                    + "(write the address, or \"None\" for a headless Service)"
            ]
        ),
        Row(
            label: "bad names",
            yaml: service("clusterIP: 10.96.0.1", name: "Web", namespace: "-shop"),
            problems: [
                "f.yaml: Service -shop/Web: metadata.name: \"Web\" is not a DNS-1035 label (lower "
                    + "case letters, digits and '-')",
                "f.yaml: Service -shop/Web: metadata.namespace: \"-shop\" is not a DNS-1123 label "
                    + "(must start and end with a letter or digit)",
            ]
        ),
        Row(
            label: "Service name must start with a letter",
            yaml: service("clusterIP: 10.96.0.1", name: "1web"),
            problems: [
                "f.yaml: Service default/1web: metadata.name: \"1web\" is not a DNS-1035 label "
                    + "(must start with a letter)"
            ]
        ),
        Row(
            label: "every problem of one object is collected",
            yaml: service(
                """
                type: Magic
                clusterIP: 10.96.0.300
                publishNotReadyAddresses: yes
                ports:
                - {name: Http, port: 0, protocol: HTTP, targetPort: 0}
                - {port: 81, targetPort: my_port}
                - {name: a, port: 82, targetPort: very-long-port-name}
                """
            ),
            problems: [
                "f.yaml: Service default/web: spec.type: \"Magic\" is not a Service type "
                    + "(ClusterIP, NodePort, LoadBalancer, ExternalName)",
                "f.yaml: Service default/web: spec.clusterIP: \"10.96.0.300\" is not an IP address",
                "f.yaml: Service default/web: spec.ports[0].name: \"Http\" is not a DNS-1123 label "
                    + "(lower case letters, digits and '-')",
                "f.yaml: Service default/web: spec.ports[0].port: \"0\" is not a port (1-65535)",
                "f.yaml: Service default/web: spec.ports[0].protocol: \"HTTP\" is not a protocol (TCP, UDP, SCTP)",
                "f.yaml: Service default/web: spec.ports[0].targetPort: \"0\" is not a port (1-65535)",
                "f.yaml: Service default/web: spec.ports[1].targetPort: \"my_port\" is not a port "
                    + "number or an IANA service name "
                    + "(at most 15 lower case letters, digits and single '-', with at least one letter)",
                "f.yaml: Service default/web: spec.ports[1].name: required when a Service has more than one port",
                "f.yaml: Service default/web: spec.ports[2].targetPort: \"very-long-port-name\" is "
                    + "not a port number or an IANA "
                    + "service name (at most 15 lower case letters, digits and single '-', with at least one letter)",
                "f.yaml: Service default/web: spec.publishNotReadyAddresses: \"yes\" is not a boolean (true or false)",
            ]
        ),
        Row(
            label: "duplicate port names and port/protocol pairs",
            yaml: service(
                "clusterIP: 10.96.0.1\nports:\n- {name: http, port: 80}\n- {name: http, port: "
                    + "80}\n- {name: dns, port: 80, protocol: UDP}"
            ),
            problems: [
                "f.yaml: Service default/web: spec.ports[1].name: \"http\" is already used by spec.ports[0]",
                "f.yaml: Service default/web: spec.ports[1]: 80/TCP is already used by spec.ports[0]",
            ]
        ),
        Row(
            label: "ExternalName needs a valid externalName and no clusterIP",
            yaml: service("type: ExternalName\nclusterIP: 10.96.0.1\nexternalName: db..example.com"),
            problems: [
                "f.yaml: Service default/web: spec.externalName: \"db..example.com\" is not a "
                    + "DNS-1123 subdomain (empty label between dots)",
                "f.yaml: Service default/web: spec.clusterIP: must not be set for an ExternalName Service",
            ]
        ),
        Row(
            label: "ExternalName without externalName",
            yaml: service("type: ExternalName"),
            problems: ["f.yaml: Service default/web: spec.externalName: required for an ExternalName Service"]
        ),
        Row(
            label: "clusterIPs: first differs, same family twice",
            yaml: service("clusterIP: 10.96.0.1\nclusterIPs: [10.96.0.2, 10.96.0.3]"),
            problems: [
                "f.yaml: Service default/web: spec.clusterIPs[0]: \"10.96.0.2\" differs from "
                    + "spec.clusterIP \"10.96.0.1\"",
                "f.yaml: Service default/web: spec.clusterIPs[1]: \"10.96.0.3\" is IPv4 like spec.clusterIPs[0] "
                    + "(a dual-stack Service has one IPv4 and one IPv6 address)",
            ]
        ),
        Row(
            label: "clusterIPs: None with another, headless NodePort",
            yaml: service("type: NodePort\nclusterIP: None\nclusterIPs: [None, 10.96.0.3]"),
            problems: [
                "f.yaml: Service default/web: spec.clusterIPs: \"None\" must be the only entry",
                "f.yaml: Service default/web: spec.clusterIPs[0]: \"None\" (headless) needs "
                    + "spec.type ClusterIP, not NodePort",
            ]
        ),
        Row(
            label: "clusterIPs: too many, None not first",
            yaml: service("clusterIPs: [10.96.0.1, None, fd00::1]"),
            problems: [
                "f.yaml: Service default/web: spec.clusterIPs: 3 entries, at most 2 (one per IP family)",
                "f.yaml: Service default/web: spec.clusterIPs[1]: \"None\" must be the only entry",
            ]
        ),
        Row(
            label: "ipFamilies must match clusterIPs",
            yaml: service("clusterIPs: [10.96.0.1, 'fd00::1']\nipFamilies: [IPv6, IPv5]"),
            problems: [
                "f.yaml: Service default/web: spec.ipFamilies[0]: IPv6 does not match spec.clusterIPs[0] \"10.96.0.1\"",
                "f.yaml: Service default/web: spec.ipFamilies[1]: \"IPv5\" is not an IP family (IPv4, IPv6)",
            ]
        ),
        Row(
            label: "ipFamilies are not compared with ClusterIPs that did not read",
            yaml: service("clusterIPs: [10.96.0.999, 'fd00::1']\nipFamilies: [IPv4, IPv6]"),
            problems: ["f.yaml: Service default/web: spec.clusterIPs[0]: \"10.96.0.999\" is not an IP address"]
        ),
        Row(
            label: "wrong shapes",
            yaml: service("clusterIP: [10.96.0.1]\nports: {port: 80}"),
            problems: [
                "f.yaml: Service default/web: spec.clusterIP: expected a string, found a list",
                "f.yaml: Service default/web: spec.clusterIP: required: svcdns does not allocate ClusterIPs "
                    + "(write the address, or \"None\" for a headless Service)",
                "f.yaml: Service default/web: spec.ports: expected a list, found a mapping",
            ]
        ),
        Row(
            label: "missing kind and name; list item named by index",
            yaml: """
                apiVersion: v1
                kind: List
                items:
                - apiVersion: v1
                  metadata: {name: web}
                - apiVersion: v1
                  kind: Service
                  spec: {clusterIP: 10.96.0.1}
                - kind: Service
                  metadata: {name: web}
                - just a string
                """,
            problems: [
                "f.yaml: object default/web: kind: required",
                "f.yaml: Service items[1]: metadata.name: required",
                "f.yaml: Service default/web: apiVersion: required",
                "f.yaml: items[3]: expected a Kubernetes object (a mapping with apiVersion, kind "
                    + "and metadata), found a scalar",
            ]
        ),
        Row(
            label: "versions svcdns does not serve",
            yaml: """
                apiVersion: v2
                kind: Service
                metadata: {name: a}
                ---
                apiVersion: discovery.k8s.io/v2
                kind: EndpointSlice
                metadata: {name: b}
                ---
                apiVersion: v1
                kind: EndpointSlice
                metadata: {name: c}
                """,
            problems: [
                "f.yaml: Service default/a: apiVersion: \"v2\" is not a served version of Service (v1)",
                "f.yaml: EndpointSlice default/b: apiVersion: \"discovery.k8s.io/v2\" is not a served version of "
                    + "EndpointSlice (discovery.k8s.io/v1, discovery.k8s.io/v1beta1)",
                "f.yaml: EndpointSlice default/c: apiVersion: \"v1\" is not a served version of "
                    + "EndpointSlice (discovery.k8s.io/v1, discovery.k8s.io/v1beta1)",
            ]
        ),
        Row(
            label: "slice addresses: wrong family, not an IP, none, bad hostname and conditions",
            yaml: slice(
                """
                endpoints:
                - addresses: ["::1", 127.0.0.1, 127.0.0.256]
                  hostname: Pod_1
                  conditions: {ready: maybe}
                - addresses: []
                - conditions: {ready: true}
                ports:
                - {name: http, port: 65536}
                - {name: http, protocol: QUIC}
                """
            ),
            problems: [
                "f.yaml: EndpointSlice default/web-abc: endpoints[0].addresses[0]: \"::1\" is not "
                    + "an IPv4 address (addressType is IPv4)",
                "f.yaml: EndpointSlice default/web-abc: endpoints[0].addresses[2]: \"127.0.0.256\" "
                    + "is not an IP address",
                "f.yaml: EndpointSlice default/web-abc: endpoints[0].hostname: \"Pod_1\" is not a DNS-1123 label "
                    + "(lower case letters, digits and '-')",
                "f.yaml: EndpointSlice default/web-abc: endpoints[0].conditions.ready: \"maybe\" is "
                    + "not a boolean (true or false)",
                "f.yaml: EndpointSlice default/web-abc: endpoints[1].addresses: required (1 to 100 addresses)",
                "f.yaml: EndpointSlice default/web-abc: endpoints[2].addresses: required (1 to 100 addresses)",
                "f.yaml: EndpointSlice default/web-abc: ports[0].port: \"65536\" is not a port (1-65535)",
                "f.yaml: EndpointSlice default/web-abc: ports[1].protocol: \"QUIC\" is not a protocol (TCP, UDP, SCTP)",
                "f.yaml: EndpointSlice default/web-abc: ports[1].name: \"http\" is already used by ports[0]",
            ]
        ),
        Row(
            label: "slice addressType missing, then invalid",
            yaml: """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: Web.1}
                ---
                \(slice("", addressType: "IPv7"))
                """,
            problems: [
                "f.yaml: EndpointSlice default/Web.1: metadata.name: \"Web.1\" is not a DNS-1123 subdomain "
                    + "(lower case letters, digits and '-')",
                "f.yaml: EndpointSlice default/Web.1: addressType: required",
                "f.yaml: EndpointSlice default/web-abc: addressType: \"IPv7\" is not an address "
                    + "type (IPv4, IPv6, FQDN)",
            ]
        ),
        Row(
            label: "more than 100 addresses",
            yaml: slice("endpoints:\n- addresses: [\((1...101).map { "127.0.1.\($0)" }.joined(separator: ", "))]"),
            problems: ["f.yaml: EndpointSlice default/web-abc: endpoints[0].addresses: 101 addresses, at most 100"]
        ),
        Row(
            label: "legacy Endpoints",
            yaml: """
                apiVersion: v1
                kind: Endpoints
                metadata: {name: web, namespace: shop}
                subsets:
                - addresses:
                  - {ip: 127.0.0.300}
                  - {hostname: web-0}
                  notReadyAddresses:
                  - {ip: "::1", hostname: "-x"}
                  ports:
                  - {name: http}
                """,
            problems: [
                "f.yaml: Endpoints shop/web: subsets[0].addresses[0].ip: \"127.0.0.300\" is not an IP address",
                "f.yaml: Endpoints shop/web: subsets[0].addresses[1].ip: required",
                "f.yaml: Endpoints shop/web: subsets[0].notReadyAddresses[0].hostname: \"-x\" is not a DNS-1123 label "
                    + "(must start and end with a letter or digit)",
                "f.yaml: Endpoints shop/web: subsets[0].ports[0].port: required",
            ]
        ),
        Row(
            label: "labels must be strings",
            yaml: """
                apiVersion: v1
                kind: Service
                metadata:
                  name: web
                  labels: {app: [a, b]}
                spec: {clusterIP: None}
                """,
            problems: ["f.yaml: Service default/web: metadata.labels[app]: expected a string, found a list"]
        ),
    ]

    @Test(arguments: rows)
    func reportsEveryProblem(_ row: Row) {
        let result = ManifestDecoder.decode(row.yaml, file: "f.yaml")
        #expect(result.problems.map(\.description) == row.problems)
        #expect(result.objects.isEmpty)
    }

    @Test(arguments: [
        ("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n   bad: indent\n", 5),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: web\n", 4),
        ("apiVersion: v1\n---\nkind: Service\nspec:\n\t- tab\n", 5),
        ("apiVersion: v1\nkind: Service\nkind: Endpoints\n", 2),
        ("{\"apiVersion\": \"v1\",\n \"kind\": \"Service\"\n \"metadata\": {}}\n", 3),
    ])
    func syntaxErrorIsOneProblemWithItsLine(text: String, line: Int) throws {
        let good = "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\nspec: {clusterIP: None}\n---\n"
        let result = ManifestDecoder.decode(good + text, file: "bad.yaml")
        #expect(result.objects.isEmpty)
        #expect(result.warnings.isEmpty)
        let problem = try #require(result.problems.count == 1 ? result.problems.first : nil)
        #expect(problem.line == line + 5)
        #expect(problem.object == nil && problem.field == nil)
        #expect(problem.description.hasPrefix("bad.yaml:\(line + 5): "))
        #expect(problem.reason.count > 5)
    }

    @Test func syntaxErrorReadsAsOneLine() {
        let result = ManifestDecoder.decode("a: b\nc: d: e\n", file: "zones/x.yaml")
        #expect(
            result.problems.map(\.description) == ["zones/x.yaml:2: mapping values are not allowed in this context"]
        )
    }
}
