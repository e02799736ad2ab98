import Foundation

/// How many times slower than a plain debug build this test run's code runs: `SVCDNS_TEST_SLOWDOWN`, which
/// `scripts/test --sanitize` sets (ThreadSanitizer slows Swift code 5-15 times), else 1.
///
/// Only a bound about the machine's speed scales with it (how long a server takes to start, how long a loop
/// of a thousand queries takes); a bound that is the behaviour under test (a timeout, an interval, a
/// deadline svcdns promises) never does.
public enum TestSlowdown {
    public static let factor: Double = {
        let text = ProcessInfo.processInfo.environment["SVCDNS_TEST_SLOWDOWN"] ?? ""
        guard let value = Double(text), value >= 1 else { return 1 }
        return value
    }()

    /// `seconds` stretched by the slowdown.
    public static func scaled(_ seconds: Double) -> Double { seconds * factor }
}
