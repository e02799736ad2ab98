// HealthDefaults: the server-wide probe settings (the --health-* flags) that a Service's annotations override.

/// Server-wide probe defaults: the `--health-*` flags. A Service's `svcdns.io/health-*` annotations override them.
public struct HealthDefaults: Hashable, Sendable {
    /// Time between the end of one probe of an endpoint and the start of the next (jittered by up to 10%).
    public var interval: Duration
    /// How long one probe may take, connect and (for HTTP) response together.
    public var timeout: Duration
    /// Consecutive failures that mark an endpoint down.
    public var fall: Int
    /// Consecutive successes that bring a down endpoint back up.
    public var rise: Int

    /// Creates the defaults; the arguments default to the flags' defaults (2s, 1s, 3, 2).
    public init(
        interval: Duration = .seconds(2), timeout: Duration = .seconds(1), fall: Int = 3, rise: Int = 2
    ) {
        self.interval = interval
        self.timeout = timeout
        self.fall = fall
        self.rise = rise
    }
}
