// Validation stays linear in the size of its input: an API body (1 MiB) or a file (64 MiB) may list any
// number of ports, and each used to be compared with every earlier one (scripts/attack's http-bodies: 60,000
// ports took 2.5 s of CPU in a release build; a file of a million would have held a reload for minutes).

import Foundation
import ServiceModel
import Testing

struct InputSizeTests {
    static let count = 60_000
    /// Each decode takes about 1.5 s in a debug build on a busy machine (parsing, mostly); comparing every
    /// port with every earlier one took minutes.
    static let limit = Duration.seconds(20)

    static func service(ports: String) -> String {
        #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"big","namespace":"default"},"#
            + #""spec":{"clusterIP":"10.96.0.1","ports":["# + ports + "]}}"
    }

    static func slice(ports: String) -> String {
        #"{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"big-1","namespace":"default","#
            + #""labels":{"kubernetes.io/service-name":"big"}},"addressType":"IPv4","#
            + #""endpoints":[{"addresses":["127.0.0.1"]}],"ports":["# + ports + "]}"
    }

    static func decodeTimed(_ text: String) -> (ManifestDecodeResult, Duration) {
        var result = ManifestDecodeResult()
        let elapsed = ContinuousClock().measure { result = ManifestDecoder.decode(text, file: "f.json") }
        return (result, elapsed)
    }

    @Test func distinctServicePortsValidateInLinearTime() {
        let ports = (0..<Self.count).map { #"{"name":"p\#($0)","port":\#($0 % 65535 + 1),"protocol":"\#($0 < 65535 ? "TCP" : "UDP")"}"# }
        let (result, elapsed) = Self.decodeTimed(Self.service(ports: ports.joined(separator: ",")))
        #expect(result.problems.isEmpty)
        #expect(result.objects.count == 1)
        #expect(elapsed < Self.limit, "validating \(Self.count) ports took \(elapsed)")
    }

    @Test func duplicateServicePortsAreEachReportedOnceInLinearTime() {
        let ports = Array(repeating: #"{"name":"http","port":80}"#, count: Self.count)
        let (result, elapsed) = Self.decodeTimed(Self.service(ports: ports.joined(separator: ",")))
        #expect(result.objects.isEmpty)
        #expect(result.problems.count == 2 * (Self.count - 1))
        #expect(
            result.problems.last?.description
                == "f.json: Service default/big: spec.ports[\(Self.count - 1)]: 80/TCP is already used by spec.ports[0]"
        )
        #expect(elapsed < Self.limit, "validating \(Self.count) ports took \(elapsed)")
    }

    @Test func endpointSlicePortsValidateInLinearTime() {
        let distinct = (0..<Self.count).map { #"{"name":"p\#($0)","port":\#($0 % 65535 + 1)}"# }
        let (valid, validElapsed) = Self.decodeTimed(Self.slice(ports: distinct.joined(separator: ",")))
        #expect(valid.problems.isEmpty)
        #expect(validElapsed < Self.limit, "validating \(Self.count) slice ports took \(validElapsed)")

        let duplicates = Array(repeating: #"{"name":"http","port":80}"#, count: Self.count)
        let (invalid, invalidElapsed) = Self.decodeTimed(Self.slice(ports: duplicates.joined(separator: ",")))
        #expect(invalid.problems.count == Self.count - 1)
        #expect(
            invalid.problems.last?.description
                == "f.json: EndpointSlice default/big-1: ports[\(Self.count - 1)].name: \"http\" is already used by ports[0]"
        )
        #expect(invalidElapsed < Self.limit, "validating \(Self.count) slice ports took \(invalidElapsed)")
    }
}
