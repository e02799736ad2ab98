import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// svcdns as the host's resolver, asked by glibc through `resolv.conf` with the Kubernetes search list and
/// `ndots:5`: `getent hosts`, `getent ahosts` and Python's `socket.getaddrinfo` resolve short Service names
/// through the search list, and a name outside the cluster through the forwarder to a real NSD.
///
/// All of it runs in a private mount and network namespace (`unshare --mount --net --fork`): svcdns listens on
/// 127.0.0.53:53 of that namespace's own loopback, and the test `resolv.conf` is bind-mounted over
/// `/etc/resolv.conf` there only. The host's `/etc/resolv.conf` and its port 53 are never touched, and both
/// servers die with the script (trap on EXIT).
@Suite(.serialized) struct HostResolverTests {
    /// Making namespaces needs root; without it (or without unshare) the test is reported skipped, with this reason.
    static let canMakeNamespaces = getuid() == 0 && (try? Tool.resolve("unshare")) != nil

    /// Ports inside the fresh network namespace, where nothing else listens. The upstream is on port 53 because
    /// svcdns finds it through a resolv.conf, and resolv.conf names no ports.
    static let upstreamPort = 53
    static let httpPort = 8053

    static let resolvConf = """
        nameserver 127.0.0.53
        search default.svc.cluster.local svc.cluster.local cluster.local
        options ndots:5 timeout:1 attempts:2

        """

    /// Runs in the namespace: sets up loopback and resolv.conf, starts NSD and svcdns, waits until both answer,
    /// then prints one line per lookup:
    /// `RESULT<TAB>label<TAB>exit status<TAB>milliseconds<TAB>output lines joined by |`.
    static let script = #"""
        #!/usr/bin/env bash
        set -u
        folder=$1 svcdns=$2 nsd=$3 upstream_port=$4 http_port=$5
        # More svcdns flags, one word each (--autopath 127.0.0.0/8).
        shift 5
        extra=("$@")

        pids=()
        stop_servers() {
            for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
            for pid in "${pids[@]}"; do
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
            done
        }
        trap stop_servers EXIT

        must() { "$@" || { printf 'SETUP-FAILED\t%s\n' "$*"; exit 1; }; }
        must ip link set lo up
        must ip addr add 127.0.0.53/8 dev lo
        must mount --bind "$folder/resolv.conf" /etc/resolv.conf

        # Each server is started through a Python shim that unblocks every signal and closes every inherited
        # descriptor but 0-2, then execs it (so $! is the server's own pid). This script inherits the test
        # process's signal mask, in which SIGTERM is blocked, and NSD never unblocks it; and it inherits the socket
        # Foundation's Process watches to see the script end, which a server must not hold.
        clean_exec='import os, signal, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.closerange(3, 65536)
        os.execvp(sys.argv[1], sys.argv[1:])'
        python3 -c "$clean_exec" "$nsd" -d -c "$folder/upstream/nsd.conf" >"$folder/nsd.out" 2>&1 &
        pids+=($!)
        # The upstreams come from a resolv.conf, as on a host that used to have it as /etc/resolv.conf: its first
        # nameserver is svcdns's own address, which svcdns must leave out (forwarding to itself would loop).
        printf 'nameserver 127.0.0.53\nnameserver 127.0.0.1\n' >"$folder/upstream.resolv.conf"
        python3 -c "$clean_exec" "$svcdns" serve --dns 127.0.0.53:53 --resolv-conf "$folder/upstream.resolv.conf" --store "$folder/store" \
            --zones "$folder/zones" --http "127.0.0.1:$http_port" "${extra[@]}" >"$folder/svcdns.log" 2>&1 &
        pids+=($!)

        # At most 10 s for each server's first answer, at most 6 s for each lookup (SIGKILL: the lookups inherit the
        # blocked SIGTERM too), so the script ends well within the test's 60 s.
        # (dig prints its errors, such as ";; communications error …", on stdout too.)
        answers() { [ -n "$(dig +short +time=1 +tries=1 "$@" 2>/dev/null | grep -v '^;')" ]; }
        wait_for() {
            local label=$1; shift
            for _ in $(seq 100); do
                if answers "$@"; then return 0; fi
                sleep 0.1
            done
            printf 'SETUP-FAILED\t%s did not answer within 10 s\n' "$label"
            exit 1
        }
        wait_for nsd +norec @127.0.0.1 -p "$upstream_port" upstream.test SOA
        wait_for svcdns @127.0.0.53 dns-version.cluster.local TXT

        result() {
            local label=$1; shift
            local start output status
            start=$(date +%s%N)
            output=$(timeout -s KILL 6 "$@" 2>&1)
            status=$?
            printf 'RESULT\t%s\t%s\t%s\t%s\n' "$label" "$status" "$(( ($(date +%s%N) - start) / 1000000 ))" \
                "$(printf '%s' "$output" | tr '\n' '|')"
        }
        result hosts-web getent hosts web
        result ahosts-web.default getent ahosts web.default
        result hosts-big-1 getent hosts big-1.big.default.svc.cluster.local
        result getaddrinfo-web python3 -c 'import socket
        for family, kind, proto, canonical, address in socket.getaddrinfo("web", 80, proto=socket.IPPROTO_TCP):
            print(family.name, kind.name, *address)'
        # The A questions svcdns has answered so far, from its metrics.
        a_queries() {
            curl -s "http://127.0.0.1:$http_port/metrics" |
                awk '/^svcdns_dns_requests_total\{/ && /type="A"/ { sum += $NF } END { print sum + 0 }'
        }
        before=$(a_queries)
        result hosts-www.upstream.test getent hosts www.upstream.test
        printf 'COUNT\tA-queries-www.upstream.test\t%s\n' "$(( $(a_queries) - before ))"
        """#

    struct Lookup {
        var status: Int
        var milliseconds: Int
        var lines: [String]
    }

    /// The lookups' results by label, the counts by label, and any setup failure the script reported.
    static func parse(_ output: String) -> (results: [String: Lookup], counts: [String: Int], setupFailures: [String]) {
        var results: [String: Lookup] = [:]
        var counts: [String: Int] = [:]
        var failures: [String] = []
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
            if fields.first == "SETUP-FAILED" { failures.append(fields.dropFirst().joined(separator: " ")) }
            if fields.count == 3, fields[0] == "COUNT", let count = Int(fields[2]) { counts[fields[1]] = count }
            guard fields.count == 5, fields[0] == "RESULT", let status = Int(fields[2]),
                let milliseconds = Int(fields[3])
            else {
                continue
            }
            // Runs of blanks folded to one space: getent pads its columns.
            let lines = fields[4].split(separator: "|").map {
                $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            }
            results[fields[1]] = Lookup(status: status, milliseconds: milliseconds, lines: lines)
        }
        return (results, counts, failures)
    }

    /// Kills (SIGKILL) every process whose command line mentions `text` and returns their command lines: the
    /// servers the script started name its folder, and none may outlive it.
    static func killProcesses(mentioning text: String) -> [String] {
        var found: [String] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty
            else { continue }
            let command = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            if command.contains(text) {
                kill(pid, SIGKILL)
                found.append("\(pid) \(command)")
            }
        }
        return found
    }

    /// With `--autopath` for the client, the same lookups give the same answers, and a name outside the cluster
    /// costs glibc one A question at svcdns rather than one per search domain and the bare name (four).
    @Test(
        .enabled(
            if: canMakeNamespaces,
            "needs root and unshare(1): a private mount and network namespace for a test /etc/resolv.conf and port 53"
        ),
        arguments: [false, true]
    )
    func glibcResolvesThroughSearchListAndForwarder(autopath: Bool) throws {
        let folder = try TemporaryFolder(files: [
            "resolv.conf": Self.resolvConf,
            "zones/cluster.yaml": ClientLibraryTests.manifests,
            "upstream/zone": TestUpstream.testZone,
            "run.sh": Self.script,
        ])
        try folder.write(
            "upstream/nsd.conf",
            TestUpstream.configuration(
                origin: TestUpstream.testOrigin, port: Self.upstreamPort, folder: folder.path + "/upstream")
        )
        // `timeout -s KILL` bounds the whole namespace: the script inherits this process's blocked SIGTERM, so
        // Tool.run's own SIGTERM on overrun would not end it.
        let run = try Tool.run(
            "timeout",
            [
                "-s", "KILL", "55", "unshare", "--mount", "--net", "--fork",
                "bash", folder.path + "/run.sh", folder.path, try SvcDNSProcess.binaryPath(), TestUpstream.executable(),
                "\(Self.upstreamPort)", "\(Self.httpPort)",
            ] + (autopath ? ["--autopath", "127.0.0.0/8"] : []),
            timeout: 60
        )
        let leftovers = Self.killProcesses(mentioning: folder.path)
        #expect(leftovers.isEmpty, "servers still running after the script ended (now killed): \(leftovers)")
        let logs = { () -> String in
            let svcdns = (try? String(contentsOfFile: folder.path + "/svcdns.log", encoding: .utf8)) ?? ""
            let nsd = (try? String(contentsOfFile: folder.path + "/nsd.out", encoding: .utf8)) ?? ""
            let upstreamLog = (try? String(contentsOfFile: folder.path + "/upstream/nsd.log", encoding: .utf8)) ?? ""
            return """
                script exited \(run.status)
                stdout:
                \(run.stdout)
                stderr:
                \(run.stderr)
                svcdns:
                \(svcdns.suffix(3000))
                nsd:
                \(nsd)\(upstreamLog)
                """
        }
        let (results, counts, setupFailures) = Self.parse(run.stdout)
        #expect(setupFailures.isEmpty, "\(setupFailures)\n\(logs())")
        guard setupFailures.isEmpty else { return }

        let expected: [(label: String, lines: [String])] = [
            // A short name: ndots:5 sends it through the search list first, and the first domain answers.
            ("hosts-web", ["10.96.0.10 web.default.svc.cluster.local"]),
            // web.default.default.svc.cluster.local is NXDOMAIN, web.default.svc.cluster.local answers.
            (
                "ahosts-web.default",
                ["10.96.0.10 STREAM web.default.svc.cluster.local", "10.96.0.10 DGRAM", "10.96.0.10 RAW"]
            ),
            ("hosts-big-1", ["127.0.11.1 big-1.big.default.svc.cluster.local"]),
            // glibc sends A and AAAA together from one socket here (AF_UNSPEC).
            ("getaddrinfo-web", ["AF_INET SOCK_STREAM 10.96.0.10 80"]),
            // NXDOMAIN from each search domain (svcdns is authoritative for them), then forwarded to NSD. With
            // autopath, the first question's answer: the same address, the expanded name an alias of the real one.
            (
                "hosts-www.upstream.test",
                ["127.0.10.1 www.upstream.test" + (autopath ? " www.upstream.test.default.svc.cluster.local" : "")]
            ),
        ]
        let svcdnsLog = (try? String(contentsOfFile: folder.path + "/svcdns.log", encoding: .utf8)) ?? ""
        let forwardsTo = svcdnsLog.split(separator: "\n").first { $0.contains("forwarding names outside the zones") }
        #expect(
            forwardsTo?.contains("upstream.address=[\"127.0.0.1:53\"]") == true,
            "upstreams from the resolv.conf, svcdns's own address left out: \(String(describing: forwardsTo))"
        )
        for item in expected {
            guard let result = results[item.label] else {
                Issue.record("no result for \(item.label)\n\(logs())")
                continue
            }
            #expect(result.status == 0, "\(item.label) exited \(result.status): \(result.lines)\n\(logs())")
            #expect(result.lines == item.lines, "\(item.label): \(result.lines), expected \(item.lines)")
            // With `timeout:1` a query svcdns drops or answers late costs glibc a whole second.
            #expect(result.milliseconds < 1000, "\(item.label) took \(result.milliseconds) ms: a query timed out")
        }
        #expect(counts["A-queries-www.upstream.test"] == (autopath ? 1 : 4), "\(counts)\n\(logs())")
    }
}
