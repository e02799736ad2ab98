import ServiceModel
import Testing

/// The `svcdns.io/health-*` annotations: what each accepts and the exact problem for what it does not.
@Suite struct HealthCheckTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)), ("2s", .seconds(2)), ("1m", .seconds(60)), ("1h", .seconds(3600)),
    ])
    func durations(text: String, expected: Duration) {
        #expect(HealthCheckOverrides.parseDuration(text) == expected)
    }

    @Test(arguments: ["", "0s", "2", "s", "1.5s", "-1s", "2 s", "10d", "9999999999s"])
    func notDurations(text: String) {
        #expect(HealthCheckOverrides.parseDuration(text) == nil)
    }

    @Test func everyAnnotationIsRead() {
        let (overrides, problems) = HealthCheckOverrides.parse([
            "svcdns.io/health-check": "http", "svcdns.io/health-port": "metrics", "svcdns.io/health-path": "/ready",
            "svcdns.io/health-interval": "500ms", "svcdns.io/health-timeout": "300ms", "svcdns.io/health-fall": "2",
            "svcdns.io/health-rise": "1", "unrelated": "x",
        ])
        #expect(problems.isEmpty)
        #expect(
            overrides
                == HealthCheckOverrides(
                    kind: .http, port: .name("metrics"), path: "/ready", interval: .milliseconds(500), timeout: .milliseconds(300),
                    fall: 2, rise: 1
                )
        )
        #expect(HealthCheckOverrides.parse(["svcdns.io/health-port": "8080"]).0.port == .number(8080))
    }

    @Test(arguments: [
        ("svcdns.io/health-check", "grpc", "\"grpc\" is not a health check (tcp, http, none)"),
        ("svcdns.io/health-port", "70000", "\"70000\" is not a port (1-65535)"),
        ("svcdns.io/health-port", "Web_Port", "\"Web_Port\" is neither a port number nor a port name"),
        ("svcdns.io/health-path", "healthz", "\"healthz\" is not an HTTP path (it starts with /, no spaces)"),
        ("svcdns.io/health-timeout", "1 s", "\"1 s\" is not a duration (like 500ms, 2s, 1m)"),
        ("svcdns.io/health-rise", "101", "\"101\" is not a count from 1 to 100"),
    ])
    func badValuesAreProblemsNamingTheAnnotation(key: String, value: String, reason: String) {
        let (overrides, problems) = HealthCheckOverrides.parse([key: value])
        #expect(problems.map(\.key) == [key])
        #expect(problems.map(\.reason) == [reason])
        #expect(overrides == HealthCheckOverrides())
    }

    @Test func aManifestWithABadAnnotationIsRejectedWithTheField() {
        let manifest = """
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              annotations: {svcdns.io/health-timeout: soon}
            spec: {clusterIP: 10.96.0.10}
            """
        let result = ManifestDecoder.decode(manifest, file: "web.yaml")
        #expect(result.objects.isEmpty)
        #expect(
            result.problems.map(\.description) == [
                "web.yaml: Service default/web: metadata.annotations[svcdns.io/health-timeout]: \"soon\" is not a duration (like 500ms, 2s, 1m)"
            ]
        )
    }
}
