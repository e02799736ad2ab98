import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Without `--api-token`, only loopback clients may write: a client from another address gets 403 and
/// nothing is written. The other address lives in a network namespace the test makes (192.0.2.1, a
/// documentation address, on that namespace's own `lo`), so no traffic leaves the test.
@Suite struct RemoteWriteTests {
    static let script = #"""
        #!/usr/bin/env bash
        set -u
        svcdns=$1 zones=$2 store=$3
        ip link set lo up || { echo SETUP-FAILED; exit 1; }
        ip addr add 192.0.2.1/32 dev lo || { echo SETUP-FAILED; exit 1; }
        # The shim unblocks signals the test process passes on blocked, and closes inherited descriptors.
        python3 -c 'import os, signal, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.closerange(3, 65536)
        os.execvp(sys.argv[1], sys.argv[1:])' "$svcdns" serve --zones "$zones" --store "$store" --upstream none \
            --dns 127.0.0.1:1053 --http 0.0.0.0:8053 >"$store.log" 2>&1 &
        pid=$!
        trap 'kill -KILL $pid 2>/dev/null' EXIT
        for _ in $(seq 100); do
            curl -s -o /dev/null http://127.0.0.1:8053/readyz && break
            sleep 0.1
        done
        body='{"apiVersion":"v1","kind":"Service","metadata":{"name":"api"},"spec":{"clusterIP":"10.96.1.1"}}'
        path=/api/v1/namespaces/default/services/api
        printf 'REMOTE %s\n' "$(curl -s -o /dev/null -w '%{http_code}' --interface 192.0.2.1 -X PUT -d "$body" http://192.0.2.1:8053$path)"
        printf 'REMOTE-GET %s\n' "$(curl -s -o /dev/null -w '%{http_code}' --interface 192.0.2.1 http://192.0.2.1:8053$path)"
        printf 'LOCAL %s\n' "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d "$body" http://127.0.0.1:8053$path)"
        """#

    @Test(.enabled(if: getuid() == 0 && (try? Tool.resolve("unshare")) != nil && (try? Tool.resolve("curl")) != nil,
        "needs root, unshare(1) and curl(1): a private network namespace with a non-loopback address"))
    func writesFromOtherAddressesNeedAToken() throws {
        let folder = try TemporaryFolder(files: ["run.sh": Self.script])
        let run = try Tool.run(
            "timeout", ["-s", "KILL", "30", "unshare", "--net", "--fork", "bash", folder.path + "/run.sh",
                        try SvcDNSProcess.binaryPath(), ExampleTests.zones, folder.path + "/store"],
            timeout: 40
        )
        let lines = Set(run.stdout.split(separator: "\n").map(String.init))
        let log = (try? String(contentsOfFile: folder.path + "/store.log", encoding: .utf8)) ?? ""
        #expect(lines.contains("REMOTE 403"), "\(run.stdout)\(run.stderr)\n\(log)")
        #expect(lines.contains("REMOTE-GET 404"), "the refused write stored nothing; reads need no token")
        #expect(lines.contains("LOCAL 201"), "\(run.stdout)")
    }
}
