import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Kubernetes-shaped HTTP API of the real binary: objects written through it are durable before the
/// answer, visible in DNS right after, and survive a restart and `kill -9`; every error is a `Status`.
@Suite(.serialized) struct APITests {
    static let servicePath = "/api/v1/namespaces/default/services/api"
    static func service(clusterIP: String, port: Int = 80, name: String = "api") -> String {
        #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"\#(name)"},"spec":{"clusterIP":"\#(clusterIP)","ports":[{"name":"http","port":\#(port)}]}}"#
    }
    static let slice = #"""
        {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
         "metadata":{"name":"pool-1","labels":{"kubernetes.io/service-name":"pool"}},
         "addressType":"IPv4","endpoints":[{"addresses":["127.0.15.1"],"hostname":"p1"}],"ports":[{"name":"http","port":8080}]}
        """#
    static let pool = #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"pool","annotations":{"svcdns.io/health-check":"none"}},"spec":{"clusterIP":"None"}}"#

    static func addresses(_ name: String, _ server: SvcDNSProcess) throws -> [String] {
        let reply = try TestClient.udp(try LDNS.query(name, "A"), port: server.dnsPort, timeout: 1)
        return try reply.map { try LDNS.decode($0).answer.map { String($0.split(separator: " ").last!) } } ?? []
    }

    /// True once `name` answers exactly `expected`, polling for at most 1 s: a write is answered when it is
    /// durable, and reaches DNS with the next snapshot, a moment later.
    static func answers(_ name: String, _ expected: [String], _ server: SvcDNSProcess) throws -> Bool {
        for _ in 0..<1000 {
            if try addresses(name, server) == expected { return true }
            usleep(1000)
        }
        return false
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func createReplaceListDeleteAndDNSFollows() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        let created = try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: Self.service(clusterIP: "10.96.1.1"))
        #expect(created.status == 201, "\(created.body)")
        let metadata = Self.json(created.body)["metadata"] as? [String: Any]
        #expect(metadata?["namespace"] as? String == "default", "the path's namespace is filled in")
        #expect(metadata?["resourceVersion"] as? String != nil)
        #expect(try Self.answers("api.default.svc.cluster.local", ["10.96.1.1"], server))

        let replaced = try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: Self.service(clusterIP: "10.96.1.2"))
        #expect(replaced.status == 200)
        #expect(try Self.answers("api.default.svc.cluster.local", ["10.96.1.2"], server))
        let fetched = try TestHTTP.request("GET", Self.servicePath, port: server.httpPort)
        #expect(fetched.status == 200)
        #expect((Self.json(fetched.body)["spec"] as? [String: Any])?["clusterIP"] as? String == "10.96.1.2")

        // A headless Service and its EndpointSlice, both through the API.
        #expect(try TestHTTP.request("PUT", "/api/v1/namespaces/default/services/pool", port: server.httpPort, body: Self.pool).status == 201)
        let slicePath = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/pool-1"
        #expect(try TestHTTP.request("PUT", slicePath, port: server.httpPort, body: Self.slice).status == 201)
        #expect(try Self.answers("p1.pool.default.svc.cluster.local", ["127.0.15.1"], server))

        let list = try TestHTTP.request("GET", "/api/v1/services", port: server.httpPort)
        #expect(Self.json(list.body)["kind"] as? String == "ServiceList")
        let names = (Self.json(list.body)["items"] as? [[String: Any]])?.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
        #expect(names == ["api", "pool"])
        let otherNamespace = try TestHTTP.request("GET", "/api/v1/services?namespace=other", port: server.httpPort)
        #expect((Self.json(otherNamespace.body)["items"] as? [Any])?.isEmpty == true)
        let slices = try TestHTTP.request("GET", "/apis/discovery.k8s.io/v1/endpointslices", port: server.httpPort)
        #expect(Self.json(slices.body)["kind"] as? String == "EndpointSliceList")

        let deleted = try TestHTTP.request("DELETE", Self.servicePath, port: server.httpPort)
        #expect(deleted.status == 200)
        #expect(Self.json(deleted.body)["status"] as? String == "Success")
        #expect(try Self.answers("api.default.svc.cluster.local", [], server))
        #expect(try TestHTTP.request("GET", Self.servicePath, port: server.httpPort).status == 404)
    }

    struct ErrorCase: Sendable, CustomStringConvertible {
        var description: String
        var method: String
        var path: String
        var body: String?
        var status: Int
        var message: String
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(description: "bad JSON", method: "PUT", path: servicePath, body: "{not json", status: 400, message: "the body is not a JSON object"),
        ErrorCase(
            description: "a port out of range", method: "PUT", path: servicePath, body: service(clusterIP: "10.96.1.1", port: 70000),
            status: 400, message: "Service default/api: spec.ports[0].port: \"70000\" is not a port (1-65535)"
        ),
        ErrorCase(
            description: "name in the path differs from the body", method: "PUT", path: servicePath,
            body: service(clusterIP: "10.96.1.1", name: "other"), status: 400,
            message: "Service default/api: metadata.name: \"other\" differs from the name in the path"
        ),
        ErrorCase(
            description: "an object a file owns", method: "PUT", path: "/api/v1/namespaces/default/services/web",
            body: service(clusterIP: "10.96.1.1", name: "web"), status: 409,
            message: "Service default/web is defined in a file in zones/; change it there"
        ),
        ErrorCase(
            description: "deleting an object a file owns", method: "DELETE", path: "/api/v1/namespaces/default/services/web", status: 409,
            message: "Service default/web is defined in a file in zones/; change it there"
        ),
        ErrorCase(
            description: "deleting what is not there", method: "DELETE", path: "/api/v1/namespaces/default/services/ghost", status: 404,
            message: "Service default/ghost not found"
        ),
        ErrorCase(
            description: "a body over 1 MiB", method: "PUT", path: servicePath, body: String(repeating: " ", count: (1 << 20) + 1),
            status: 413, message: "the body is over 1 MiB"
        ),
    ]

    /// Found by fuzz-api-body: a `List` body took the path's name on its own metadata, and its one item was
    /// written under the item's name, wherever that was (here a Service of another namespace).
    @Test func aListBodyCannotWriteAnObjectThePathDoesNotName() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        let item = #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"elsewhere","namespace":"other"},"spec":{"clusterIP":"10.96.7.7","ports":[{"port":80}]}}"#
        let list = #"{"apiVersion":"v1","kind":"List","items":["# + item + "]}"
        let reply = try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: list)
        #expect(reply.status == 400)
        #expect(Self.json(reply.body)["message"] as? String == "the body is not one Service default/api")
        #expect(try TestHTTP.request("GET", "/api/v1/namespaces/other/services/elsewhere", port: server.httpPort).status == 404)
        #expect(try TestHTTP.request("GET", Self.servicePath, port: server.httpPort).status == 404)
        #expect(try Self.addresses("elsewhere.other.svc.cluster.local", server) == [])
    }

    @Test func aStaleResourceVersionIsAConflictInTheEmbeddedStoreToo() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        let created = try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: Self.service(clusterIP: "10.96.1.1"))
        let version = (Self.json(created.body)["metadata"] as? [String: Any])?["resourceVersion"] as? String
        let seen = try #require(version)
        func versioned(_ ip: String) -> String {
            #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"api","resourceVersion":"\#(seen)"},"spec":{"clusterIP":"\#(ip)"}}"#
        }
        #expect(try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: versioned("10.96.1.2")).status == 200)
        let stale = try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: versioned("10.96.1.3"))
        #expect(stale.status == 409)
        #expect(stale.body.contains("the object has been modified"), "\(stale.body)")
        #expect(try Self.answers("api.default.svc.cluster.local", ["10.96.1.2"], server))
    }

    @Test func everyErrorIsAStatusNamingTheProblem() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        for item in Self.errorCases {
            let reply = try TestHTTP.request(item.method, item.path, port: server.httpPort, body: item.body)
            #expect(reply.status == item.status, "\(item): \(reply.body)")
            let status = Self.json(reply.body)
            #expect(status["kind"] as? String == "Status", "\(item): \(reply.body)")
            #expect(status["code"] as? Int == item.status)
            #expect(status["message"] as? String == item.message, "\(item)")
        }
        // Nothing of the refused writes reached DNS.
        #expect(try Self.answers("web.default.svc.cluster.local", ["10.96.0.10"], server))
        #expect(try Self.answers("api.default.svc.cluster.local", [], server))
    }

    @Test func aTokenGuardsEveryWrite() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--api-token", "s3cret"])
        defer { server.stop() }
        let body = Self.service(clusterIP: "10.96.1.1")
        #expect(try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: body).status == 401)
        let wrong = ["Authorization": "Bearer s3cre"]
        #expect(try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: body, headers: wrong).status == 401)
        let right = ["Authorization": "Bearer s3cret"]
        #expect(try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: body, headers: right).status == 201)
        #expect(try TestHTTP.request("DELETE", Self.servicePath, port: server.httpPort).status == 401)
    }

    /// With a token, object reads and `/status` need it as writes do (the objects name every address and port
    /// behind the Services); the operations endpoints stay open for probes and scrapers.
    @Test func aTokenGuardsReadsAndStatusButNotOperations() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--api-token", "s3cret"])
        defer { server.stop() }
        let right = ["Authorization": "Bearer s3cret"]
        let wrong = ["Authorization": "Bearer s3cre"]
        #expect(try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: Self.service(clusterIP: "10.96.1.1"), headers: right).status == 201)
        for path in [Self.servicePath, "/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/status/endpoints"] {
            let bare = try TestHTTP.request("GET", path, port: server.httpPort)
            #expect(bare.status == 401, "\(path) without the token: \(bare.body)")
            #expect(Self.json(bare.body)["message"] as? String == "reads need Authorization: Bearer <token>", "\(path)")
            #expect(try TestHTTP.request("GET", path, port: server.httpPort, headers: wrong).status == 401, "\(path) with a wrong token")
            let allowed = try TestHTTP.request("GET", path, port: server.httpPort, headers: right)
            #expect(allowed.status == 200, "\(path) with the token: \(allowed.body)")
        }
        let fetched = try TestHTTP.request("GET", Self.servicePath, port: server.httpPort, headers: right)
        #expect((Self.json(fetched.body)["spec"] as? [String: Any])?["clusterIP"] as? String == "10.96.1.1")
        for path in ["/healthz", "/readyz", "/metrics"] {
            #expect(try TestHTTP.request("GET", path, port: server.httpPort).status == 200, "\(path) stays open")
        }
    }

    /// An empty token, given on the command line or in a file, would turn authentication off: svcdns refuses
    /// to start and says why.
    @Test func anEmptyTokenIsAStartupError() throws {
        let tokens = try TemporaryFolder(files: ["empty": "", "blank": "  \n\n"])
        let store = try TemporaryFolder()
        let cases: [(String, [String], String)] = [
            ("--api-token \"\"", ["--api-token", ""], "--api-token is empty"),
            ("--api-token \" \"", ["--api-token", " "], "--api-token is empty"),
            ("an empty token file", ["--api-token-file", tokens.path + "/empty"], "cannot be read or is empty"),
            ("a token file of blank lines", ["--api-token-file", tokens.path + "/blank"], "cannot be read or is empty"),
        ]
        for (label, arguments, message) in cases {
            let dns = try SvcDNSProcess.freePort()
            let http = try SvcDNSProcess.freePort()
            let result: Tool.Result
            do {
                result = try Tool.run(
                    try SvcDNSProcess.binaryPath(),
                    ["serve", "--zones", ExampleTests.zones, "--dns", "127.0.0.1:\(dns)", "--http", "127.0.0.1:\(http)",
                     "--upstream", "none", "--store", store.path] + arguments,
                    timeout: 5
                )
            } catch {
                Issue.record("\(label): svcdns did not exit: \(error)")
                continue
            }
            #expect(result.status != 0, "\(label)")
            #expect((result.stdout + result.stderr).contains(message), "\(label): \(result.stdout)\(result.stderr)")
        }
    }

    /// Files own their Services and the Services' endpoints: an EndpointSlice through the API for a Service a
    /// file defines is refused, as a Service over a file's is, and adds nothing to DNS.
    @Test func aSliceForAServiceAFileDefinesIsRefused() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        // Sorted: the answer rotates.
        let before = try Self.addresses("db.data.svc.cluster.local", server).sorted()
        let slice = #"""
            {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
             "metadata":{"name":"db-extra","labels":{"kubernetes.io/service-name":"db"}},
             "addressType":"IPv4","endpoints":[{"addresses":["127.0.2.9"],"hostname":"db-9"}],"ports":[{"name":"postgres","port":5432}]}
            """#
        let reply = try TestHTTP.request(
            "PUT", "/apis/discovery.k8s.io/v1/namespaces/data/endpointslices/db-extra", port: server.httpPort, body: slice
        )
        #expect(reply.status == 409, "\(reply.body)")
        #expect(
            Self.json(reply.body)["message"] as? String
                == "EndpointSlice data/db-extra belongs to Service data/db, which is defined in a file in zones/; its endpoints are set there"
        )
        #expect(try TestHTTP.request("GET", "/apis/discovery.k8s.io/v1/namespaces/data/endpointslices/db-extra", port: server.httpPort).status == 404)
        usleep(200_000)
        #expect(try Self.addresses("db-9.db.data.svc.cluster.local", server).isEmpty)
        #expect(try Self.addresses("db.data.svc.cluster.local", server).sorted() == before)
        #expect(before == ["127.0.2.1", "127.0.2.2"])
    }

    @Test func acknowledgedWritesSurviveKillDashNineAndRestarts() throws {
        let store = try TemporaryFolder()
        do {
            let server = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--store", store.path])
            let reply = try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: Self.service(clusterIP: "10.96.1.3"))
            #expect(reply.status == 201)
            kill(server.processIdentifier, SIGKILL)  // right after the answer: no shutdown, no flush
            server.stop()
        }
        let restarted = try SvcDNSProcess(zones: ExampleTests.zones, arguments: ["--store", store.path])
        defer { restarted.stop() }
        #expect(try Self.addresses("api.default.svc.cluster.local", restarted) == ["10.96.1.3"])
        #expect(try TestHTTP.request("GET", Self.servicePath, port: restarted.httpPort).status == 200)
    }

    @Test func aWriteIsVisibleInDNSWithin50Milliseconds() throws {
        let server = try SvcDNSProcess(zones: ExampleTests.zones)
        defer { server.stop() }
        var latencies: [Double] = []
        for round in 1...20 {
            let address = "10.96.2.\(round)"
            let reply = try TestHTTP.request("PUT", Self.servicePath, port: server.httpPort, body: Self.service(clusterIP: address))
            let answered = Date()
            #expect(reply.status == 201 || reply.status == 200)
            var visible: Double? = nil
            for _ in 0..<500 where visible == nil {
                if try Self.addresses("api.default.svc.cluster.local", server) == [address] {
                    visible = Date().timeIntervalSince(answered) * 1000
                } else {
                    usleep(500)
                }
            }
            latencies.append(visible ?? .infinity)
        }
        let sorted = latencies.sorted()
        print("API write to DNS answer (ms): median \(sorted[sorted.count / 2]), max \(sorted.last!)")
        #expect(sorted.last! < 50, "\(latencies)")
    }
}
