// ProbePlan: Catalog + defaults in, the list of endpoints to probe out (and those that cannot be).

import ServiceModel

/// Turns a catalog into probe targets.
public enum ProbePlan {
    /// The HTTP path probed when a Service asks for `http` without `svcdns.io/health-path`.
    public static let defaultHTTPPath = "/healthz"

    /// Every endpoint to probe: for each Service (every type except ExternalName) whose effective check is not `none`,
    /// each address of `catalog.offeredEndpoints(of:)`, with overrides from `service.healthCheck` over `defaults`.
    ///
    /// Port: `svcdns.io/health-port` (a number, or a name looked up in the endpoint's `ports`), else the endpoint's
    /// first TCP port with a number. An endpoint with no usable port is not probed and is reported in `unprobeable`
    /// with the reason (it is served as the manifest says). Ordered by Service key, then endpoint order. Pure, so it
    /// can run on any thread; its cost is linear in the endpoints.
    ///
    /// With `services`, only the endpoints of those Services (the ones a change touched); only of Services that
    /// `exposure` admits (the others are not in DNS).
    public static func targets(
        for catalog: Catalog, defaults: HealthDefaults, services: Set<ObjectKey>? = nil,
        admitting exposure: Exposure = .everything
    ) -> (targets: [ProbeTarget], unprobeable: [(EndpointID, String)]) {
        var targets: [ProbeTarget] = []
        var unprobeable: [(EndpointID, String)] = []
        for key in (services.map(Array.init) ?? Array(catalog.services.keys)).sorted() {
            guard let service = catalog.services[key], exposure.admits(service) else { continue }
            // An ExternalName Service is a CNAME: it has no endpoints of its own to probe.
            guard service.type != .externalName else { continue }
            let overrides = service.healthCheck
            let kind: ProbeKind
            switch overrides.kind ?? .tcp {
            case .none: continue
            case .tcp: kind = .tcp
            case .http: kind = .http(path: overrides.path ?? defaultHTTPPath)
            }
            for endpoint in catalog.offeredEndpoints(of: service) {
                let id = EndpointID(service: key, address: endpoint.address)
                switch healthPort(overrides.port, in: endpoint.ports) {
                case .success(let port):
                    let interval = overrides.interval ?? defaults.interval
                    targets.append(
                        ProbeTarget(
                            endpoint: id,
                            port: port,
                            kind: kind,
                            interval: interval,
                            // An annotated timeout is checked against an annotated interval only; against the
                            // --health-interval default it is capped here, so probes never overlap.
                            timeout: min(overrides.timeout ?? defaults.timeout, interval),
                            fall: overrides.fall ?? defaults.fall,
                            rise: overrides.rise ?? defaults.rise,
                            weighsByLatency: service.weights == .latency
                        )
                    )
                case .failure(let problem):
                    unprobeable.append((id, problem.reason))
                }
            }
        }
        return (targets, unprobeable)
    }

    private struct PortProblem: Error {
        var reason: String
    }

    private static func healthPort(_ requested: TargetPort?, in ports: [EndpointPort]) -> Result<Int, PortProblem> {
        switch requested {
        case .number(let number):
            return .success(number)
        case .name(let name):
            guard let port = ports.first(where: { $0.name == name }) else {
                return .failure(PortProblem(reason: "health port \"\(name)\" is not a port of the endpoint"))
            }
            guard let number = port.port else {
                return .failure(PortProblem(reason: "health port \"\(name)\" has no port number"))
            }
            return .success(number)
        case nil:
            // A TCP connect to a UDP or SCTP port says nothing about it (a UDP-only DNS pod would always look
            // down), so the default skips them; `svcdns.io/health-port` can still name one explicitly.
            guard let number = ports.first(where: { $0.protocol == .tcp && $0.port != nil })?.port else {
                return .failure(PortProblem(reason: "no TCP port with a number to probe (set svcdns.io/health-port)"))
            }
            return .success(number)
        }
    }
}
