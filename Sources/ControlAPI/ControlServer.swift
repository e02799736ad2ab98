import Foundation
import Health
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Registry
import ServiceLifecycle

/// The HTTP side of svcdns (`--http`), on Hummingbird: the Kubernetes-shaped object API, `/healthz`,
/// `/readyz` and `/metrics`.
public struct ControlServer: ServiceLifecycle.Service {
    public let host: String
    public let port: Int
    private let logger: Logger
    private let endpoints: Endpoints
    private let registry: LiveRegistry?
    private let apiToken: String?
    private let limits: Limits

    /// What the HTTP server gives its clients: a slow or idle client cannot hold more than a connection
    /// slot for `timeout`, and connections past the cap wait in the listen backlog until one frees.
    public struct Limits: Sendable, Equatable {
        /// Open connections at most (`--http-max-connections`).
        public var maxConnections: Int
        /// How long a connection may sit with no request part arriving, and how long one request may take
        /// to arrive whole (`--http-timeout`).
        public var timeout: TimeAmount
        /// Bytes of request headers at most, all fields together (`--http-max-header-bytes`); past it the
        /// request is refused and the connection closed.
        public var maxHeaderBytes: Int

        public init(maxConnections: Int = 256, timeout: TimeAmount = .seconds(30), maxHeaderBytes: Int = 16 * 1024) {
            self.maxConnections = maxConnections
            self.timeout = timeout
            self.maxHeaderBytes = maxHeaderBytes
        }
    }

    /// What the operations endpoints report, supplied by the wiring so this module knows neither the DNS
    /// server nor the metrics backend.
    public struct Endpoints: Sendable {
        public var isReady: @Sendable () -> Bool
        public var metrics: @Sendable () -> [UInt8]
        public var endpointStatuses: @Sendable () async -> [EndpointStatus]
        /// Why the shared store cannot be reached, if it cannot: `/readyz` says so, and stays ready, since DNS
        /// keeps answering from the last data.
        public var storeProblem: @Sendable () -> String? = { nil }
        /// Why names outside the zones are not forwarded, when something found it should not be (a loop): `/readyz`
        /// says so and stays ready, since svcdns's own zones are answered as before.
        public var forwardingProblem: @Sendable () -> String? = { nil }

        public init(
            isReady: @escaping @Sendable () -> Bool = { true }, metrics: @escaping @Sendable () -> [UInt8] = { [] },
            endpointStatuses: @escaping @Sendable () async -> [EndpointStatus] = { [] }
        ) {
            self.isReady = isReady
            self.metrics = metrics
            self.endpointStatuses = endpointStatuses
        }
    }

    public init(
        host: String, port: Int, logger: Logger, endpoints: Endpoints = Endpoints(), registry: LiveRegistry? = nil,
        apiToken: String? = nil, limits: Limits = Limits()
    ) {
        self.host = host
        self.port = port
        self.logger = logger
        self.endpoints = endpoints
        self.registry = registry
        self.apiToken = apiToken
        self.limits = limits
    }

    func makeRouter() -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        let endpoints = self.endpoints
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            let problems =
                (endpoints.storeProblem().map { "store: degraded: \($0)\n" } ?? "")
                + (endpoints.forwardingProblem().map { "forwarding: \($0)\n" } ?? "")
            return endpoints.isReady()
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n" + problems)))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "not ready\n" + problems)))
        }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: endpoints.metrics()))
            )
        }
        let access = WriteAccess(token: apiToken)
        router.get("status/endpoints") { request, _ -> Response in
            if let denied = access.checkRead(request) { return denied }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let items: [[String: Any]] = await endpoints.endpointStatuses().map { status in
                var item: [String: Any] = [
                    "service": "\(status.endpoint.service)", "address": "\(status.endpoint.address)", "port": status.port,
                    "state": status.state.rawValue,
                ]
                if let result = status.lastResult { item["lastResult"] = result }
                if let roundTrip = status.roundTripMicroseconds { item["roundTripMicroseconds"] = roundTrip }
                if let weight = status.latencyWeight {
                    item["weight"] = weight
                    item["weightBasis"] = "latency: 100 x the fastest endpoint's round trip / this one's, 1 to 100"
                }
                if let time = status.lastProbe { item["lastProbe"] = formatter.string(from: time) }
                return item
            }
            let data = (try? JSONSerialization.data(withJSONObject: ["endpoints": items], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        if let registry {
            ObjectRoutes(kind: "Service", apiVersion: "v1", base: "/api/v1", plural: "services", registry: registry, writeAccess: access)
                .add(to: router)
            ObjectRoutes(
                kind: "EndpointSlice", apiVersion: "discovery.k8s.io/v1", base: "/apis/discovery.k8s.io/v1", plural: "endpointslices",
                registry: registry, writeAccess: access
            ).add(to: router)
        }
        return router
    }

    public func run() async throws {
        let limits = self.limits
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadlineHandler(deadline: limits.timeout)], idleTimeout: limits.timeout,
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: 100
            )
        )
        let app = Application(
            router: makeRouter(), server: .http1(configuration: http1),
            configuration: .init(
                address: .hostname(host, port: port), serverName: "svcdns",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections, logger: logger)
            ),
            logger: logger
        )
        try await app.run()
    }
}
