import Foundation
import SvcDNSTesting
import Testing

/// `svcdns check` and `svcdns serve` on bad input: each problem is one line naming the file, the
/// object and the field; check exits 1; serve exits non-zero without ever serving.
@Suite struct CheckTests {
    static let goodService = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec:
          clusterIP: 10.96.0.10
          ports: [{name: http, port: 80}]
        """

    static let goodZone = """
        $ORIGIN corp.example.
        @ 300 IN SOA ns1 hostmaster 1 3600 600 604800 60
        ns1 300 IN A 127.0.0.53
        """

    struct BadInput: Sendable, CustomStringConvertible {
        var description: String
        var files: [String: String]
        /// The lines expected, with FOLDER standing for the folder's path.
        var lines: [String]
    }

    static let badInputs: [BadInput] = [
        BadInput(
            description: "a port out of range",
            files: ["web.yaml": goodService.replacingOccurrences(of: "port: 80", with: "port: 70000")],
            lines: ["FOLDER/web.yaml: Service default/web: spec.ports[0].port: \"70000\" is not a port (1-65535)"]
        ),
        BadInput(
            description: "an endpoint address that is no IP",
            files: [
                "web.yaml": goodService,
                "slice.yaml": """
                    apiVersion: discovery.k8s.io/v1
                    kind: EndpointSlice
                    metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
                    addressType: IPv4
                    endpoints:
                      - addresses: [127.0.1.300]
                    """,
            ],
            lines: [
                "FOLDER/slice.yaml: EndpointSlice default/web-1: endpoints[0].addresses[0]: \"127.0.1.300\" is not an IP address"
            ]
        ),
        BadInput(
            description: "a YAML syntax error",
            files: ["web.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web\n"],
            lines: ["FOLDER/web.yaml:4: "]
        ),
        BadInput(
            description: "a zone-file syntax error",
            files: ["corp.example.zone": goodZone + "\nwww 300 IN A 127.0.0.300\n"],
            lines: ["FOLDER/corp.example.zone:4: Syntax error, could not parse the RR's rdata"]
        ),
        BadInput(
            description: "health annotations that do not parse",
            files: [
                "web.yaml": goodService.replacingOccurrences(
                    of: "metadata: {name: web, namespace: default}",
                    with: """
                        metadata:
                          name: web
                          namespace: default
                          annotations:
                            svcdns.io/health-check: grpc
                            svcdns.io/health-interval: 2x
                            svcdns.io/health-fall: "0"
                        """
                )
            ],
            lines: [
                "FOLDER/web.yaml: Service default/web: metadata.annotations[svcdns.io/health-check]: \"grpc\" is not a health check (tcp, http, none)",
                "FOLDER/web.yaml: Service default/web: metadata.annotations[svcdns.io/health-interval]: \"2x\" is not a duration (like 500ms, 2s, 1m)",
                "FOLDER/web.yaml: Service default/web: metadata.annotations[svcdns.io/health-fall]: \"0\" is not a count from 1 to 100",
            ]
        ),
        BadInput(
            description: "TTL annotations out of range or not a number",
            files: [
                "web.yaml": goodService.replacingOccurrences(
                    of: "metadata: {name: web, namespace: default}",
                    with: "metadata: {name: web, namespace: default, annotations: {svcdns.io/ttl: \"3601\"}}"
                ),
                "db.yaml": goodService.replacingOccurrences(
                    of: "metadata: {name: web, namespace: default}",
                    with: "metadata: {name: db, namespace: default, annotations: {svcdns.io/ttl: \"-5\"}}"
                ).replacingOccurrences(of: "10.96.0.10", with: "10.96.0.11"),
            ],
            lines: [
                "FOLDER/db.yaml: Service default/db: metadata.annotations[svcdns.io/ttl]: \"-5\" is not a TTL from 0 to 3600 seconds",
                "FOLDER/web.yaml: Service default/web: metadata.annotations[svcdns.io/ttl]: \"3601\" is not a TTL from 0 to 3600 seconds",
            ]
        ),
        BadInput(
            description: "the same Service in two files",
            files: ["a.yaml": goodService, "b.yaml": goodService],
            lines: ["FOLDER/b.yaml: Service default/web: metadata.name: already defined in FOLDER/a.yaml"]
        ),
    ]

    static func binary() throws -> String { try SvcDNSProcess.binaryPath() }

    @Test(arguments: badInputs)
    func checkNamesEveryProblemAndExitsOne(_ input: BadInput) throws {
        let folder = try TemporaryFolder(files: input.files)
        let result = try Tool.run(try Self.binary(), ["check", "--zones", folder.path])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let printed = result.stdout.split(separator: "\n").map(String.init)
        let expected = input.lines.map { $0.replacingOccurrences(of: "FOLDER", with: folder.path) }
        #expect(printed.count == expected.count, "\(printed)")
        for (line, prefix) in zip(printed, expected) {
            #expect(line.hasPrefix(prefix), "\(line) does not start with \(prefix)")
            #expect(line.count > prefix.count || !prefix.hasSuffix(": "), "no reason given: \(line)")
        }
    }

    @Test(arguments: badInputs)
    func serveRefusesToStartHalfLoaded(_ input: BadInput) throws {
        let folder = try TemporaryFolder(files: input.files)
        let port = try SvcDNSProcess.freePort()
        let result = try Tool.run(
            try Self.binary(),
            ["serve", "--zones", folder.path, "--dns", "127.0.0.1:\(port)", "--http", "127.0.0.1:\(try SvcDNSProcess.freePort())"],
            timeout: 10
        )
        #expect(result.status != 0)
        let expected = input.lines[0].replacingOccurrences(of: "FOLDER", with: folder.path)
        let printed = result.stdout.split(separator: "\n").contains { $0.hasPrefix(expected) }
        #expect(printed, "\(result.stdout)")
        #expect(!result.stderr.contains("serving DNS"))
    }

    @Test func checkCountsWhatALoadedFolderHolds() throws {
        let folder = try TemporaryFolder(files: ["web.yaml": Self.goodService, "corp.example.zone": Self.goodZone, "notes.txt": "ignored"])
        let result = try Tool.run(try Self.binary(), ["check", "--zones", folder.path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout == "loaded 1 Services, 0 EndpointSlices, 0 Endpoints and 1 zone files from 2 files\n")
    }

    @Test func kindsSvcdnsDoesNotServeAreWarnedAboutNotFatal() throws {
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\n"
        let folder = try TemporaryFolder(files: ["web.yaml": Self.goodService + "\n---\n" + deployment])
        let result = try Tool.run(try Self.binary(), ["check", "--zones", folder.path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("warning: \(folder.path)/web.yaml: Deployment default/web"), "\(result.stderr)")
    }

    /// A file written just now is read a pass later than one long settled (`FolderState`), yet the problems
    /// still come in file-name order. The later file in name order is dated an hour back, so it is read on the
    /// first pass; the earlier one is dated an hour ahead, so it waits for a later pass.
    @Test func problemsAreListedInFileOrderWhateverPassReadThem() throws {
        let bad = { (name: String, ttl: String) in
            Self.goodService.replacingOccurrences(
                of: "metadata: {name: web, namespace: default}",
                with: "metadata: {name: \(name), namespace: default, annotations: {svcdns.io/ttl: \"\(ttl)\"}}"
            )
        }
        let folder = try TemporaryFolder(files: ["a.yaml": bad("a", "-1"), "b.yaml": bad("b", "9999")])
        let now = Date()
        try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(3600)], ofItemAtPath: folder.path + "/a.yaml")
        try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-3600)], ofItemAtPath: folder.path + "/b.yaml")
        let result = try Tool.run(try Self.binary(), ["check", "--zones", folder.path])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let files = result.stdout.split(separator: "\n").map { String($0.prefix { $0 != ":" }) }
        #expect(files == [folder.path + "/a.yaml", folder.path + "/b.yaml"], "\(result.stdout)")
    }

    @Test func aMissingFolderIsAProblem() throws {
        let result = try Tool.run(try Self.binary(), ["check", "--zones", "/nonexistent-svcdns-folder"])
        #expect(result.status == 1)
        #expect(result.stdout == "/nonexistent-svcdns-folder: no such directory\n")
    }
}
