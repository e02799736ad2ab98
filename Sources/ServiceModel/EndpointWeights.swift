// EndpointWeights: a Service's `svcdns.io/weights` annotation.

/// How much of a Service's traffic each endpoint should lead, from `svcdns.io/weights`.
public enum EndpointWeights: Hashable, Sendable {
    /// `db-0=3,db-1=1,127.0.2.9=2`: by endpoint hostname, pod name (`targetRef.name`) or address; an endpoint
    /// not named weighs 1.
    case named([String: Int])
    /// `latency`: from the health checker's smoothed probe round-trip times, faster endpoints weighing more.
    case latency

    public static let annotationKey = "svcdns.io/weights"
    public static let weightRange: ClosedRange<Int> = 1...100
    /// Entries in one annotation at most.
    public static let maxEntries = 1000

    /// The weight of an endpoint with these names (the first of them that the annotation names), else 1; by
    /// latency, its weight in `health`, else 1.
    public func weight(hostname: String?, podName: String?, address: IPAddress, of service: ObjectKey, health: HealthVerdicts) -> Int {
        let weights: [String: Int]
        switch self {
        case .named(let named): weights = named
        case .latency: return health.latencyWeights[EndpointID(service: service, address: address)] ?? 1
        }
        if let hostname, let weight = weights[hostname] { return weight }
        if let podName, let weight = weights[podName] { return weight }
        return weights[address.description] ?? 1
    }

    /// Parses the annotation's value; the error is the reason, for the manifest's problem list.
    public init(parsing text: String) throws(WeightsError) {
        if text == "latency" {
            self = .latency
            return
        }
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
        guard entries.count <= Self.maxEntries else {
            throw WeightsError("\(entries.count) entries, at most \(Self.maxEntries)")
        }
        var weights: [String: Int] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", omittingEmptySubsequences: false)
            let name = parts.first.map { String($0).trimmingSpaces } ?? ""
            guard parts.count == 2, !name.isEmpty, name.utf8.count <= 253 else {
                throw WeightsError("\(Validation.quoted(String(entry))) is not NAME=WEIGHT (or the whole value latency)")
            }
            let number = String(parts[1]).trimmingSpaces
            guard number.utf8.count <= 3, number.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let weight = Int(number),
                Self.weightRange.contains(weight)
            else {
                throw WeightsError("\(Validation.quoted(number)) for \(name) is not a weight from 1 to 100")
            }
            guard weights.updateValue(weight, forKey: name) == nil else {
                throw WeightsError("\(name) is given twice")
            }
        }
        self = .named(weights)
    }
}

public struct WeightsError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
