#if canImport(Glibc)
import Glibc
#endif

/// How svcdns shares its file descriptors: DNS-over-TCP clients get a bounded part of them, so that
/// probes, forwarding, etcd, the store and HTTP always keep descriptors of their own, however many TCP
/// clients connect.
enum FileDescriptorBudget {
    /// What a hard limit of "unlimited" is taken as: Linux's default `fs.nr_open`, above which the kernel
    /// refuses a soft limit.
    static let unlimitedTaken = 1_048_576
    /// RLIM_INFINITY, which Swift cannot import from glibc's macro (it is all bits set).
    private static let infinity = rlim_t.max

    /// Raises the soft `RLIMIT_NOFILE` to the hard limit (a process may, without privileges) and returns
    /// the soft limit in force afterwards: the default of 1024 many systems start services with is too few
    /// for a server of many connections.
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let hard = limit.rlim_max == infinity ? rlim_t(unlimitedTaken) : limit.rlim_max
        if limit.rlim_cur != infinity && limit.rlim_cur < hard {
            var raised = limit
            raised.rlim_cur = hard
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 {
                limit = raised
            }
        }
        let soft = limit.rlim_cur == infinity ? rlim_t(unlimitedTaken) : limit.rlim_cur
        return Int(clamping: soft)
    }

    /// `--tcp-max-connections` when not given: a quarter of the limit, at most 4096 (RFC 7766 §6.2.2 lets a
    /// server cap its connections; a few thousand is far more than resolvers hold open).
    static func defaultTCPConnections(openFileLimit: Int) -> Int {
        max(1, min(openFileLimit / 4, 4096))
    }

    /// The largest `--tcp-max-connections` accepted: half the limit, the other half for everything else.
    static func maxTCPConnections(openFileLimit: Int) -> Int {
        max(1, openFileLimit / 2)
    }
}
