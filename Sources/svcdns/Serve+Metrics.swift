import Foundation
import Metrics
import Prometheus

extension Serve {
    /// Makes Prometheus the metrics backend of the whole process; `/metrics` reads the returned registry.
    static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // CoreDNS's buckets, so dashboards built for it read these the same way.
        factory.durationHistogramBuckets["svcdns_dns_request_duration_seconds"] = (0..<16).map {
            Duration.nanoseconds(Int64(250_000 * pow(2.0, Double($0))))
        }
        factory.valueHistogramBuckets["svcdns_dns_response_size_bytes"] = [
            0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000,
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }
}
