import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// svcdns as the resolver of musl's `getaddrinfo` (Debian's musl 1.2.3: no TCP fallback, which came in 1.2.4,
/// as in Alpine images before 3.18). A headless Service of 100 endpoints does not fit one 512-byte answer; musl
/// takes the truncated answer as it is, so it must carry the addresses that fit.
///
/// As `HostResolverTests` does for glibc: a private mount and network namespace, svcdns on 127.0.0.53:53 of its
/// own loopback, and a test `resolv.conf` bind-mounted over `/etc/resolv.conf` there only.
@Suite(.serialized) struct MuslResolverTests {
    static let resolvConf = """
        nameserver 127.0.0.53
        options timeout:1 attempts:2

        """

    /// Runs in the namespace: sets up loopback and resolv.conf, starts svcdns, waits until it answers, then runs
    /// the musl client three times, printing `RESULT<TAB>label<TAB>exit status<TAB>milliseconds<TAB>lines|…`.
    static let script = #"""
        #!/usr/bin/env bash
        set -u
        folder=$1 svcdns=$2 client=$3

        pid=
        stop_server() {
            [ -n "$pid" ] || return
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        }
        trap stop_server EXIT

        must() { "$@" || { printf 'SETUP-FAILED\t%s\n' "$*"; exit 1; }; }
        must ip link set lo up
        must ip addr add 127.0.0.53/8 dev lo
        must mount --bind "$folder/resolv.conf" /etc/resolv.conf

        # As in HostResolverTests: unblock every signal, close inherited descriptors, then exec svcdns.
        clean_exec='import os, signal, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.closerange(3, 65536)
        os.execvp(sys.argv[1], sys.argv[1:])'
        python3 -c "$clean_exec" "$svcdns" serve --dns 127.0.0.53:53 --upstream none --store "$folder/store" \
            --zones "$folder/zones" --http 127.0.0.1:8053 >"$folder/svcdns.log" 2>&1 &
        pid=$!

        ready=
        for _ in $(seq 100); do
            if [ -n "$(dig +short +time=1 +tries=1 @127.0.0.53 dns-version.cluster.local TXT 2>/dev/null | grep -v '^;')" ]; then
                ready=yes; break
            fi
            sleep 0.1
        done
        [ -n "$ready" ] || { printf 'SETUP-FAILED\tsvcdns did not answer within 10 s\n'; exit 1; }

        for run in 1 2 3; do
            start=$(date +%s%N)
            output=$(timeout -s KILL 10 "$client" hundred.default.svc.cluster.local 2>&1)
            status=$?
            printf 'RESULT\tmusl-%s\t%s\t%s\t%s\n' "$run" "$status" "$(( ($(date +%s%N) - start) / 1000000 ))" \
                "$(printf '%s' "$output" | tr '\n' '|')"
        done
        """#

    @Test(
        .enabled(
            if: HostResolverTests.canMakeNamespaces,
            "needs root and unshare(1): a private mount and network namespace for a test /etc/resolv.conf and port 53"
        )
    )
    func muslWithoutTCPFallbackGetsTheAddressesThatFit() throws {
        let folder = try TemporaryFolder(files: [
            "resolv.conf": Self.resolvConf,
            "zones/hundred.yaml": TruncationTests.manifests,
            "run.sh": Self.script,
        ])
        // musl-gcc comes with Debian's musl-tools (scripts/setup); static, so nothing of musl needs installing.
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Clients/musl_getaddrinfo.c")
        let client = folder.path + "/musl_getaddrinfo"
        let compiled = try Tool.run("musl-gcc", ["-static", "-O2", "-o", client, source.path], timeout: 60)
        try #require(compiled.status == 0, "musl-gcc failed: \(compiled.stderr)")

        let run = try Tool.run(
            "timeout",
            [
                "-s", "KILL", "55", "unshare", "--mount", "--net", "--fork",
                "bash", folder.path + "/run.sh", folder.path, try SvcDNSProcess.binaryPath(), client,
            ],
            timeout: 60
        )
        let leftovers = HostResolverTests.killProcesses(mentioning: folder.path)
        #expect(leftovers.isEmpty, "svcdns still running after the script ended (now killed): \(leftovers)")
        let log = { () -> String in
            let svcdns = (try? String(contentsOfFile: folder.path + "/svcdns.log", encoding: .utf8)) ?? ""
            return "script exited \(run.status)\nstdout:\n\(run.stdout)\nstderr:\n\(run.stderr)\nsvcdns:\n\(svcdns.suffix(3000))"
        }
        let (results, _, setupFailures) = HostResolverTests.parse(run.stdout)
        #expect(setupFailures.isEmpty, "\(setupFailures)\n\(log())")
        guard setupFailures.isEmpty else { return }

        let all = Set(TruncationTests.hundredAddresses)
        let fit = TruncationTests.recordsThatFit(name: TruncationTests.hundred, limit: 512, edns: false)
        var seen = Set<String>()
        for run in 1...3 {
            guard let result = results["musl-\(run)"] else {
                Issue.record("no result for musl-\(run)\n\(log())")
                continue
            }
            #expect(result.status == 0, "musl-\(run) exited \(result.status): \(result.lines)\n\(log())")
            #expect(!result.lines.isEmpty && Set(result.lines).isSubset(of: all), "musl-\(run): \(result.lines)")
            #expect(result.lines.count == fit, "musl-\(run): \(result.lines.count) addresses, \(fit) fit 512 bytes")
            #expect(result.milliseconds < 1000, "musl-\(run) took \(result.milliseconds) ms: a query timed out")
            seen.formUnion(result.lines)
        }
        // Each lookup's answer starts one record later (round-robin): three lookups, fit + 2 addresses.
        #expect(seen.count == fit + 2, "\(seen.count) different addresses in three lookups")
    }
}
