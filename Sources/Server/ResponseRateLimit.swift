// The settings of response rate limiting, as the flags give them; `ResponseRateLimiter` applies them.

/// `--rrl-rate`, `--rrl-slip`, `--rrl-table-size`: the limits of response rate limiting.
public struct ResponseRateLimit: Sendable, Hashable {
    /// Responses a second one client network may get for one name and kind of response.
    public var rate: Int
    /// Every `slip`-th limited response goes out as an empty answer with TC (so a real client asks again
    /// over TCP, which is never limited); the others are dropped. 0 drops all, 1 slips all.
    public var slip: Int
    /// Buckets in the table (8 bytes each); its memory is fixed at start, whatever the traffic.
    public var tableSize: Int

    /// As NSD and Knot: half the limited answers slip, so a real client retries over TCP within two tries.
    public static let defaultSlip = 2
    /// As NSD's `rrl-size`: a million buckets, 8 MB.
    public static let defaultTableSize = 1_000_000
    /// What `--rrl-rate` accepts (0, off, aside): the limiter keeps time in microseconds.
    public static let rates = 1...1_000_000
    /// What `--rrl-slip` accepts, as Knot's `rate-limit-slip`.
    public static let slips = 0...100
    /// What `--rrl-table-size` accepts: at most 128 MB of buckets.
    public static let tableSizes = 1...16_777_216

    /// Values outside the ranges above are clamped into them by `ResponseRateLimiter`.
    public init(rate: Int, slip: Int = defaultSlip, tableSize: Int = defaultTableSize) {
        self.rate = rate
        self.slip = slip
        self.tableSize = tableSize
    }
}
