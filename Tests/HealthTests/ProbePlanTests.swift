// ProbePlanTests: which endpoints are probed, on which port, with which settings.

import Health
import ServiceModel
import Testing

@Suite("ProbePlan")
struct ProbePlanTests {
    let defaults = HealthDefaults(interval: .seconds(2), timeout: .seconds(1), fall: 3, rise: 2)

    @Test func defaultsApplyToEveryOfferedEndpoint() {
        let catalog = Fixture.catalog([
            Fixture.service("web", slices: [Fixture.slice(["10.0.0.1", "10.0.0.2"], ports: [("http", 8080)])])
        ])
        let plan = ProbePlan.targets(for: catalog, defaults: defaults)
        #expect(plan.unprobeable.isEmpty)
        #expect(
            plan.targets == [
                ProbeTarget(
                    endpoint: Fixture.id("web", "10.0.0.1"), port: 8080, kind: .tcp, interval: .seconds(2),
                    timeout: .seconds(1), fall: 3, rise: 2
                ),
                ProbeTarget(
                    endpoint: Fixture.id("web", "10.0.0.2"), port: 8080, kind: .tcp, interval: .seconds(2),
                    timeout: .seconds(1), fall: 3, rise: 2
                ),
            ]
        )
    }

    @Test func annotationsOverrideDefaults() {
        let overrides = HealthCheckOverrides(
            kind: .http, port: .number(9090), path: "/ready", interval: .milliseconds(500), timeout: .milliseconds(300),
            fall: 2, rise: 1
        )
        let catalog = Fixture.catalog([
            Fixture.service("api", healthCheck: overrides, slices: [Fixture.slice(["10.0.0.3"], ports: [("http", 80)])])
        ])
        let plan = ProbePlan.targets(for: catalog, defaults: defaults)
        #expect(
            plan.targets == [
                ProbeTarget(
                    endpoint: Fixture.id("api", "10.0.0.3"), port: 9090, kind: .http(path: "/ready"),
                    interval: .milliseconds(500), timeout: .milliseconds(300), fall: 2, rise: 1
                )
            ]
        )
    }

    @Test func httpWithoutPathProbesHealthz() {
        let catalog = Fixture.catalog([
            Fixture.service(
                "api", healthCheck: HealthCheckOverrides(kind: .http),
                slices: [Fixture.slice(["10.0.0.3"], ports: [(nil, 80)])]
            )
        ])
        let plan = ProbePlan.targets(for: catalog, defaults: defaults)
        #expect(plan.targets.map(\.kind) == [.http(path: "/healthz")])
        #expect(plan.targets.map(\.interval) == [.seconds(2)])
    }

    @Test func namedHealthPortIsLookedUpInTheSlicePorts() {
        let overrides = HealthCheckOverrides(port: .name("admin"))
        let catalog = Fixture.catalog([
            Fixture.service(
                "db", healthCheck: overrides,
                slices: [
                    Fixture.slice(["10.0.1.1"], name: "db-a", ports: [("sql", 5432), ("admin", 9187)]),
                    // Pods may number a named port differently: each slice's own ports decide.
                    Fixture.slice(["10.0.1.2"], name: "db-b", ports: [("admin", 9188), ("sql", 5432)]),
                    Fixture.slice(["10.0.1.3"], name: "db-c", ports: [("sql", 5432)]),
                ]
            )
        ])
        let plan = ProbePlan.targets(for: catalog, defaults: defaults)
        #expect(plan.targets.map(\.endpoint.address.description) == ["10.0.1.1", "10.0.1.2"])
        #expect(plan.targets.map(\.port) == [9187, 9188])
        let unprobeable = plan.unprobeable.map { $0.0 }
        #expect(unprobeable == [Fixture.id("db", "10.0.1.3")])
        #expect(plan.unprobeable.first?.1.contains("admin") == true)
    }

    @Test func checkNoneIsNotProbed() {
        let catalog = Fixture.catalog([
            Fixture.service(
                "quiet", healthCheck: HealthCheckOverrides(kind: HealthCheckKind.none),
                slices: [Fixture.slice(["10.0.0.9"], ports: [("http", 80)])]
            ),
            Fixture.service("loud", slices: [Fixture.slice(["10.0.0.8"], ports: [("http", 80)])]),
        ])
        let plan = ProbePlan.targets(for: catalog, defaults: defaults)
        #expect(plan.targets.map(\.endpoint) == [Fixture.id("loud", "10.0.0.8")])
        #expect(plan.unprobeable.isEmpty)
    }

    @Test func externalNameIsNotProbed() {
        var external = Fixture.service("ext", slices: [Fixture.slice(["10.0.0.7"], ports: [("http", 80)])])
        external.service.type = .externalName
        external.service.externalName = "example.com"
        let plan = ProbePlan.targets(for: Fixture.catalog([external]), defaults: defaults)
        #expect(plan.targets.isEmpty)
        #expect(plan.unprobeable.isEmpty)
    }

    @Test func defaultPortIsTheFirstNumberedTCPPort() {
        let catalog = Fixture.catalog([
            Fixture.service(
                "mixed",
                slices: [
                    Fixture.slice(
                        ["10.0.2.1"],
                        ports: [
                            EndpointPort(name: "all", port: nil),
                            EndpointPort(name: "dns", port: 53, protocol: .udp),
                            EndpointPort(name: "metrics", port: 9100),
                            EndpointPort(name: "http", port: 80),
                        ]
                    )
                ]
            )
        ])
        let plan = ProbePlan.targets(for: catalog, defaults: defaults)
        #expect(plan.targets.map(\.port) == [9100])
    }

    @Test func endpointWithoutUsablePortIsReported() {
        let catalog = Fixture.catalog([
            Fixture.service("noport", slices: [Fixture.slice(["10.0.3.1"], ports: [EndpointPort]())]),
            Fixture.service(
                "udponly",
                slices: [Fixture.slice(["10.0.3.2"], ports: [EndpointPort(name: "dns", port: 53, protocol: .udp)])]
            ),
        ])
        let plan = ProbePlan.targets(for: catalog, defaults: defaults)
        #expect(plan.targets.isEmpty)
        let unprobeable = plan.unprobeable.map { $0.0 }
        #expect(unprobeable == [Fixture.id("noport", "10.0.3.1"), Fixture.id("udponly", "10.0.3.2")])
    }

    @Test func legacyEndpointsAreProbedWhenThereIsNoSlice() {
        let key = ObjectKey(namespace: "default", name: "old")
        var catalog = Catalog(services: [key: Service(key: key, isHeadless: true)])
        catalog.endpoints[key] = Endpoints(
            key: key,
            subsets: [
                EndpointSubset(
                    addresses: [EndpointAddress(ip: IPAddress("10.0.4.1")!)],
                    notReadyAddresses: [EndpointAddress(ip: IPAddress("10.0.4.2")!)],
                    ports: [EndpointPort(name: "http", port: 8080)]
                )
            ]
        )
        let plan = ProbePlan.targets(for: catalog, defaults: defaults)
        // Not-ready addresses are not offered (no publishNotReadyAddresses), so they are not probed either.
        #expect(plan.targets.map(\.endpoint) == [Fixture.id("old", "10.0.4.1")])
        #expect(plan.targets.map(\.port) == [8080])
    }

    @Test func servicesComeOutSortedByKey() {
        let catalog = Fixture.catalog([
            Fixture.service("zeta", slices: [Fixture.slice(["10.0.5.1"], ports: [("http", 80)])]),
            Fixture.service("alpha", slices: [Fixture.slice(["10.0.5.2"], ports: [("http", 80)])]),
        ])
        let plan = ProbePlan.targets(for: catalog, defaults: defaults)
        #expect(plan.targets.map(\.endpoint.service.name) == ["alpha", "zeta"])
    }
}
