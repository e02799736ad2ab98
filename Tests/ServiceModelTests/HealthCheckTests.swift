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

    /// Each range the annotations are held to, at and just past both ends: the reported crash was
    /// `svcdns.io/health-interval: 999999999h`, accepted and then trapped on in the probe schedule.
    @Test(arguments: [
        ("svcdns.io/health-interval", "100ms", nil),
        ("svcdns.io/health-interval", "1h", nil),
        ("svcdns.io/health-interval", "99ms", "\"99ms\" is out of range (100ms to 1h)"),
        ("svcdns.io/health-interval", "61m", "\"61m\" is out of range (100ms to 1h)"),
        ("svcdns.io/health-interval", "3601s", "\"3601s\" is out of range (100ms to 1h)"),
        ("svcdns.io/health-interval", "999999999h", "\"999999999h\" is out of range (100ms to 1h)"),
        ("svcdns.io/health-timeout", "10ms", nil),
        ("svcdns.io/health-timeout", "1h", nil),
        ("svcdns.io/health-timeout", "9ms", "\"9ms\" is out of range (10ms to 1h)"),
        ("svcdns.io/health-timeout", "2h", "\"2h\" is out of range (10ms to 1h)"),
        ("svcdns.io/health-timeout", "999999999h", "\"999999999h\" is out of range (10ms to 1h)"),
        ("svcdns.io/health-fall", "1", nil),
        ("svcdns.io/health-fall", "100", nil),
        ("svcdns.io/health-fall", "0", "\"0\" is not a count from 1 to 100"),
        ("svcdns.io/health-fall", "101", "\"101\" is not a count from 1 to 100"),
        ("svcdns.io/health-fall", "99999999999999999999", "\"99999999999999999999\" is not a count from 1 to 100"),
        ("svcdns.io/health-rise", "1", nil),
        ("svcdns.io/health-rise", "100", nil),
        ("svcdns.io/health-rise", "-1", "\"-1\" is not a count from 1 to 100"),
        ("svcdns.io/health-port", "1", nil),
        ("svcdns.io/health-port", "65535", nil),
        ("svcdns.io/health-port", "0", "\"0\" is not a port (1-65535)"),
        ("svcdns.io/health-port", "65536", "\"65536\" is not a port (1-65535)"),
        ("svcdns.io/health-port", "-80", "\"-80\" is not a port (1-65535)"),
    ] as [(String, String, String?)])
    func rangesAtTheirEnds(key: String, value: String, reason: String?) {
        let (overrides, problems) = HealthCheckOverrides.parse([key: value])
        #expect(problems.map(\.reason) == (reason.map { [$0] } ?? []))
        #expect(problems.allSatisfy { $0.key == key })
        #expect((overrides == HealthCheckOverrides()) == (reason != nil), "a bad value is left unset, a good one is kept")
    }

    @Test(arguments: [
        ("2s", "2s", nil),
        ("1s", "500ms", nil),
        ("500ms", "1s", "\"1s\" is longer than svcdns.io/health-interval \"500ms\""),
    ] as [(String, String, String?)])
    func aTimeoutIsAtMostTheInterval(interval: String, timeout: String, reason: String?) {
        let (overrides, problems) = HealthCheckOverrides.parse([
            HealthCheckOverrides.intervalKey: interval, HealthCheckOverrides.timeoutKey: timeout,
        ])
        #expect(problems.map(\.key) == (reason == nil ? [] : [HealthCheckOverrides.timeoutKey]))
        #expect(problems.map(\.reason) == (reason.map { [$0] } ?? []))
        #expect(overrides.interval == HealthCheckOverrides.parseDuration(interval))
        #expect(overrides.timeout == (reason == nil ? HealthCheckOverrides.parseDuration(timeout) : nil))
    }
}
