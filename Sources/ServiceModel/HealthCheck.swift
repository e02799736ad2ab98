// HealthCheck: how a Service's endpoints are probed, from its `svcdns.io/health-*` annotations.

/// How an endpoint is probed.
public enum HealthCheckKind: String, Hashable, Sendable {
    /// A TCP connect to the health port.
    case tcp
    /// An HTTP GET of the health path; 2xx and 3xx are healthy.
    case http
    /// No probing: addresses are served as the manifest says.
    case none
}

/// A Service's health-check settings, as its annotations give them; `nil` fields take the server-wide flags.
///
/// Kubernetes has no field for these, so they ride in annotations, the way ingress controllers carry theirs.
public struct HealthCheckOverrides: Hashable, Sendable {
    public var kind: HealthCheckKind?
    /// A port name (looked up in the endpoint's EndpointSlice ports) or number.
    public var port: TargetPort?
    public var path: String?
    public var interval: Duration?
    public var timeout: Duration?
    /// Consecutive failures that mark an address down.
    public var fall: Int?
    /// Consecutive successes that bring it back.
    public var rise: Int?

    public init(
        kind: HealthCheckKind? = nil, port: TargetPort? = nil, path: String? = nil, interval: Duration? = nil,
        timeout: Duration? = nil, fall: Int? = nil, rise: Int? = nil
    ) {
        self.kind = kind
        self.port = port
        self.path = path
        self.interval = interval
        self.timeout = timeout
        self.fall = fall
        self.rise = rise
    }

    public static let kindKey = "svcdns.io/health-check"
    public static let portKey = "svcdns.io/health-port"
    public static let pathKey = "svcdns.io/health-path"
    public static let intervalKey = "svcdns.io/health-interval"
    public static let timeoutKey = "svcdns.io/health-timeout"
    public static let fallKey = "svcdns.io/health-fall"
    public static let riseKey = "svcdns.io/health-rise"

    /// Reads the annotations; each bad value is reported as (annotation key, reason) and left unset.
    public static func parse(_ annotations: [String: String]) -> (HealthCheckOverrides, [(key: String, reason: String)]) {
        var result = HealthCheckOverrides()
        var problems: [(key: String, reason: String)] = []
        if let text = annotations[kindKey] {
            if let kind = HealthCheckKind(rawValue: text) {
                result.kind = kind
            } else {
                problems.append((kindKey, "\(Validation.quoted(text)) is not a health check (tcp, http, none)"))
            }
        }
        if let text = annotations[portKey] {
            if let number = ObjectReader.integer(text) {
                if let reason = Validation.port(number, text: text) {
                    problems.append((portKey, reason))
                } else {
                    result.port = .number(number)
                }
            } else if Validation.dns1123Label(text) == nil {
                result.port = .name(text)
            } else {
                problems.append((portKey, "\(Validation.quoted(text)) is neither a port number nor a port name"))
            }
        }
        if let text = annotations[pathKey] {
            if text.hasPrefix("/"), !text.contains(where: { $0 == " " || $0.isNewline }) {
                result.path = text
            } else {
                problems.append((pathKey, "\(Validation.quoted(text)) is not an HTTP path (it starts with /, no spaces)"))
            }
        }
        for (key, keyPath, range) in [
            (intervalKey, \HealthCheckOverrides.interval, intervalRange), (timeoutKey, \.timeout, timeoutRange),
        ] {
            guard let text = annotations[key] else { continue }
            guard let duration = parseDuration(text) else {
                problems.append((key, "\(Validation.quoted(text)) is not a duration (like 500ms, 2s, 1m)"))
                continue
            }
            if let reason = outOfRange(duration, range, text: text) {
                problems.append((key, reason))
            } else {
                result[keyPath: keyPath] = duration
            }
        }
        // A probe that may outlast its interval would overlap the next one of the same endpoint.
        if let interval = result.interval, let timeout = result.timeout, timeout > interval {
            problems.append(
                (timeoutKey, "\(Validation.quoted(annotations[timeoutKey] ?? "")) is longer than \(intervalKey) "
                    + "\(Validation.quoted(annotations[intervalKey] ?? ""))")
            )
            result.timeout = nil
        }
        for (key, keyPath) in [(fallKey, \HealthCheckOverrides.fall), (riseKey, \.rise)] {
            guard let text = annotations[key] else { continue }
            if let count = ObjectReader.integer(text), (1...100).contains(count) {
                result[keyPath: keyPath] = count
            } else {
                problems.append((key, "\(Validation.quoted(text)) is not a count from 1 to 100"))
            }
        }
        return (result, problems)
    }

    /// The probe intervals svcdns accepts, from an annotation or `--health-interval`: under 100ms a probe
    /// storm, over an hour no health checking to speak of (and the schedule's arithmetic stays far from
    /// overflow).
    public static let intervalRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(3600)
    /// The probe timeouts svcdns accepts; a timeout is also at most the interval it applies to.
    public static let timeoutRange: ClosedRange<Duration> = .milliseconds(10) ... .seconds(3600)

    /// Nil when `duration` is in `range`, else the reason, e.g. `"999999999h" is out of range (100ms to 1h)`.
    public static func outOfRange(_ duration: Duration, _ range: ClosedRange<Duration>, text: String) -> String? {
        guard !range.contains(duration) else { return nil }
        return "\(Validation.quoted(text)) is out of range (\(shortText(range.lowerBound)) to \(shortText(range.upperBound)))"
    }

    /// A whole number of hours, minutes, seconds or milliseconds, as the annotations write it.
    static func shortText(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        guard attoseconds == 0 else { return "\(attoseconds / 1_000_000_000_000_000 + seconds * 1000)ms" }
        if seconds > 0, seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds > 0, seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// Parses `500ms`, `2s`, `1m`, `1h` (a whole number and a unit); nil for anything else or for zero.
    /// Any result is far from overflowing `Duration` (at most 999,999,999 hours), but callers still check it
    /// against a range: see `intervalRange`.
    public static func parseDuration(_ text: String) -> Duration? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 9, let value = Int64(digits), value > 0 else { return nil }
        switch text.dropFirst(digits.count) {
        case "ms": return .milliseconds(value)
        case "s": return .seconds(value)
        case "m": return .seconds(value * 60)
        case "h": return .seconds(value * 3600)
        default: return nil
        }
    }
}
