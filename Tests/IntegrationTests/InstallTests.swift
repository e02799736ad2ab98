import Foundation
import SvcDNSTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `scripts/install --resolver` and `scripts/install --uninstall`, run for real as root, on copies of `/etc`,
/// `/usr/local` and `/var/lib` in a private mount, network and PID namespace
/// (`unshare --mount --net --pid --fork`): the machine's own files, port 53 and processes are never touched,
/// and every process started there dies with the namespace at the latest.
///
/// Three hosts, one test each: `/etc/resolv.conf` a plain file and systemd not PID 1 (as on this machine);
/// `/etc/resolv.conf` a relative symlink (resolvconf's) with systemd as PID 1; systemd-resolved running. Where
/// systemd "is" PID 1 a fake `systemctl` logs each call and starts and stops svcdns as the unit would. Each
/// checks: the refusal without root; the installed binary, unit (passing `systemd-analyze verify`), flags and
/// example; the upstream list and `/etc/resolv.conf` or the resolved drop-in; svcdns started the way the unit
/// starts it (ExecStart with the EnvironmentFile, a user of its own with only CAP_NET_BIND_SERVICE, the state
/// directory) answering the example's name and forwarding another to NSD, the host's old resolver, through
/// glibc or dig; its stop through the lameduck (SIGTERM: `/readyz` 503, DNS still answered, exit 0 after
/// the lameduck and within `TimeoutStopSec`); and, after `--uninstall`, a listing of the three trees (every
/// entry's kind, mode, owner, size, link target and modification time, every file's SHA-256) equal to the one
/// taken before the install, but for the store when it is kept (no `--purge`).
@Suite(.serialized) struct InstallTests {
    /// Making namespaces needs root; without it (or without the tools) the tests are reported skipped.
    static let canRun =
        getuid() == 0 && ["unshare", "setpriv", "systemd-analyze", "dig", "getent", "curl"].allSatisfy {
            (try? Tool.resolve($0)) != nil
        }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The address and port svcdns answers DNS on, in packaging/svcdns.default.
    static let dnsAddress = "127.0.0.153"
    /// The uid the emulated DynamicUser runs as.
    static let uid = "61184"

    struct Outcome {
        var status: Int
        /// Output lines, runs of blanks folded to one space.
        var lines: [String]
    }

    struct Run {
        var results: [String: Outcome]
        var setupFailures: [String]
        var before: [String]
        var after: [String]
        var logs: String

        /// The outcome of `label`; records an issue when the script printed none.
        func callAsFunction(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
            guard let outcome = results[label] else {
                Issue.record("no result for \(label)\n\(logs)", sourceLocation: sourceLocation)
                return Outcome(status: -1, lines: [])
            }
            return outcome
        }
    }

    /// Runs the namespace script for `scenario` (plain, symlink, resolved) and collects what it printed and
    /// wrote.
    static func run(_ scenario: String) throws -> Run {
        let folder = try TemporaryFolder(files: [
            "run.sh": Self.script,
            "unit.sh": Self.unitFunctions,
            "supervise.py": Self.supervise,
            "bin/systemctl": Self.fakeSystemctl,
            "upstream/zone": TestUpstream.testZone,
        ])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path + "/bin/systemctl")
        try folder.write(
            "upstream/nsd.conf",
            TestUpstream.configuration(origin: TestUpstream.testOrigin, port: 53, folder: folder.path + "/upstream")
        )
        // `timeout -s KILL` bounds the whole namespace: the script inherits this process's blocked SIGTERM.
        // Three lameduck stops of 5 s, four listings of a few seconds and the copies fit well within it.
        let run = try Tool.run(
            "timeout",
            [
                "-s", "KILL", "170", "unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc",
                "bash", folder.path + "/run.sh", scenario, folder.path, repository.path, try SvcDNSProcess.binaryPath(),
                TestUpstream.executable(),
            ],
            timeout: 180
        )
        let leftovers = HostResolverTests.killProcesses(mentioning: folder.path)
        #expect(leftovers.isEmpty, "processes still running after the script ended (now killed): \(leftovers)")

        let read = { (name: String) in (try? String(contentsOfFile: folder.path + "/" + name, encoding: .utf8)) ?? "" }
        let logs = """
            script exited \(run.status)
            stdout:
            \(run.stdout)
            stderr:
            \(run.stderr)
            systemctl calls:
            \(read("systemctl.log"))
            svcdns:
            \(read("svcdns.log").suffix(4000))
            nsd:
            \(read("nsd.out"))\(read("upstream/nsd.log"))
            """
        var results: [String: Outcome] = [:]
        var failures: [String] = []
        for line in run.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            if fields.first == "SETUP-FAILED" { failures.append(fields.dropFirst().joined(separator: " ")) }
            guard fields.count == 4, fields[0] == "RESULT", let status = Int(fields[2]) else { continue }
            let lines = fields[3].split(separator: "|").map {
                $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            }
            results[fields[1]] = Outcome(status: status, lines: lines)
        }
        if run.status != 0 { failures.append("the script exited \(run.status)") }
        let lines = { (name: String) in read(name).split(separator: "\n").map(String.init) }
        let svcdnsLog = read("svcdns.log")
        let forwardsTo = svcdnsLog.split(separator: "\n").first { $0.contains("forwarding names outside the zones") }
        // NSD, the host's resolver before the install, is the one upstream; svcdns's own address is left out
        // where resolved lists it.
        #expect(
            forwardsTo?.contains("upstream.address=[\"127.0.0.1:53\"]") == true,
            "svcdns's upstreams: \(String(describing: forwardsTo))\n\(logs)"
        )
        return Run(
            results: results, setupFailures: failures, before: lines("before.listing"), after: lines("after.listing"),
            logs: logs
        )
    }

    /// The checks every host shares: the refusal without root, what is installed, svcdns serving as the unit
    /// runs it, the uninstall.
    static func checkCommon(_ run: Run, prefix: String = "/usr/local") {
        #expect(run("not-root").status == 1)
        #expect(
            run("not-root").lines.first?.hasPrefix("scripts/install: must run as root") == true,
            "\(run("not-root").lines)"
        )
        #expect(run("install").status == 0, "\(run("install").lines)\n\(run.logs)")
        #expect(
            run("verify").status == 0 && run("verify").lines.isEmpty,
            "systemd-analyze verify: \(run("verify").lines)"
        )
        #expect(run("execstart").lines == ["\(prefix)/bin/svcdns serve --store /var/lib/svcdns/store $SVCDNS_OPTIONS"])
        #expect(run("unit").status == 0, "the unit differs from packaging/svcdns.service: \(run("unit").lines)")
        #expect(run("binary").status == 0, "the installed binary is not the one given: \(run("binary").lines)")
        #expect(run("binary-mode").lines == ["755 root"])
        #expect(run("config").status == 0, "/etc/default/svcdns: \(run("config").lines)")
        #expect(run("sample").status == 0, "/etc/svcdns/zones/example.yaml.sample: \(run("sample").lines)")

        // Run as the unit runs it: DynamicUser, only CAP_NET_BIND_SERVICE (bit 10), NoNewPrivileges.
        #expect(
            Array(run("process").lines.prefix(7)) == [
                "Uid: \(uid) \(uid) \(uid) \(uid)", "Gid: \(uid) \(uid) \(uid) \(uid)", "Groups:",
                "CapEff: 0000000000000400", "CapBnd: 0000000000000400", "CapAmb: 0000000000000400", "NoNewPrivs: 1",
            ],
            "\(run("process").lines)"
        )
        #expect(run("store").lines == ["store"], "the store in the state directory: \(run("store").lines)")

        // Each stop: SIGTERM, exit 0 once the lameduck (5 s) is over, well within TimeoutStopSec (30 s).
        let stops = run("stops").lines
        #expect(!stops.isEmpty, "svcdns was never stopped")
        for stop in stops {
            let fields = stop.split(separator: " ")
            let milliseconds = fields.count == 2 ? Int(fields[1]) ?? 0 : 0
            #expect(fields.first == "0" && milliseconds >= 5000 && milliseconds < 30000, "a stop: \(stop)")
        }
        #expect(run("uninstall").status == 0, "\(run("uninstall").lines)\n\(run.logs)")
    }

    /// Every listing line that differs between before and after, as "- line" or "+ line", but for those of
    /// the paths `allowed` accepts.
    static func differences(_ run: Run, allowing allowed: (String) -> Bool = { _ in false }) -> [String] {
        let before = Set(run.before)
        let after = Set(run.after)
        // "kind mode owner size path -> target [time]", or "sha256  path".
        let path = { (line: String) -> String in
            let fields = line.split(separator: " ").map(String.init)
            return fields.count == 2 ? fields[1] : fields.count > 4 ? fields[4] : line
        }
        return before.subtracting(after).filter { !allowed(path($0)) }.sorted().map { "- \($0)" }
            + after.subtracting(before).filter { !allowed(path($0)) }.sorted().map { "+ \($0)" }
    }

    @Test(.enabled(if: canRun, "needs root, unshare, setpriv, systemd-analyze, dig, getent and curl"))
    func plainResolvConfWithoutSystemd() throws {
        let run = try Self.run("plain")
        #expect(run.setupFailures.isEmpty, "\(run.setupFailures)\n\(run.logs)")
        guard run.setupFailures.isEmpty else { return }
        Self.checkCommon(run)
        #expect(run("install").lines.contains { $0.contains("systemd is not PID 1 here: svcdns was not started") })

        // The old resolv.conf is the upstream list, readable by svcdns's user; the new one names svcdns and
        // keeps the old search and options lines.
        #expect(run("upstreams").lines == ["/etc/svcdns/upstream.resolv.conf"])
        #expect(
            run("upstreams-content").lines == [
                "nameserver 127.0.0.1", "search example.internal", "options timeout:1 attempts:2",
            ]
        )
        #expect(run("resolv.conf-link").status == 1, "/etc/resolv.conf is a file")
        #expect(
            run("resolv.conf").lines.filter { !$0.hasPrefix("#") } == [
                "nameserver \(Self.dnsAddress)", "search example.internal", "options timeout:1 attempts:2",
            ],
            "\(run("resolv.conf").lines)"
        )
        #expect(run("dropin").status != 0, "no resolved, no drop-in")

        // glibc through the new resolv.conf: the example's name from svcdns, another forwarded to NSD.
        #expect(run("cluster-name").lines == ["10.96.0.10 web.default.svc.cluster.local"], "\(run.logs)")
        #expect(run("forwarded-name").lines == ["127.0.10.1 www.upstream.test"], "\(run.logs)")

        // Stopped by the test as systemd stops it, looking in during the lameduck.
        let stop = run("stop").lines
        #expect(Array(stop.prefix(2)) == ["readyz 503", "dns 10.96.0.10"], "during the lameduck: \(stop)")

        let differences = Self.differences(run)
        #expect(differences.isEmpty, "not as it was before the install:\n\(differences.joined(separator: "\n"))")
    }

    @Test(.enabled(if: canRun, "needs root, unshare, setpriv, systemd-analyze, dig, getent and curl"))
    func symlinkedResolvConfInstalledTwice() throws {
        let run = try Self.run("symlink")
        #expect(run.setupFailures.isEmpty, "\(run.setupFailures)\n\(run.logs)")
        guard run.setupFailures.isEmpty else { return }
        Self.checkCommon(run)
        #expect(run("install-again").status == 0, "\(run("install-again").lines)")

        // The upstream list follows the link: what keeps resolvconf's file up to date still reaches svcdns.
        #expect(run("upstreams").lines == ["/run/resolvconf/resolv.conf"])
        #expect(run("resolv.conf-link").status == 1, "/etc/resolv.conf is now a file")
        #expect(
            run("resolv.conf").lines.filter { !$0.hasPrefix("#") } == [
                "nameserver \(Self.dnsAddress)", "options timeout:1 attempts:2",
            ],
            "\(run("resolv.conf").lines)"
        )
        #expect(run("cluster-name").lines == ["10.96.0.10 web.default.svc.cluster.local"], "\(run.logs)")
        #expect(run("forwarded-name").lines == ["127.0.10.1 www.upstream.test"], "\(run.logs)")

        let install = [
            "is-active --quiet systemd-resolved.service", "daemon-reload", "enable --quiet svcdns.service",
            "restart svcdns.service", "is-active --quiet systemd-resolved.service",
        ]
        #expect(
            run("systemctl").lines
                == install + install + ["disable --now --quiet svcdns.service", "daemon-reload"],
            "\(run("systemctl").lines)"
        )
        // Restarted by the second install, stopped by the uninstall.
        #expect(run("stops").lines.count == 2)
        #expect(run("uninstall").lines.contains { $0.contains("kept the store of API objects in /var/lib/svcdns") })

        // Without --purge the store is the one thing left: the state directory, the link to it, and the
        // folders holding them (one entry more each).
        let store = { (path: String) in
            ["/var/lib", "/var/lib/private", "/var/lib/svcdns"].contains(path)
                || path.hasPrefix("/var/lib/private/svcdns")
        }
        let differences = Self.differences(run, allowing: store)
        #expect(differences.isEmpty, "not as it was before the install:\n\(differences.joined(separator: "\n"))")
        #expect(
            Self.differences(run).contains {
                $0.hasPrefix("+ ") && $0.hasSuffix("/var/lib/private/svcdns/store/registry.sqlite")
            },
            "the store kept: \(Self.differences(run))"
        )
    }

    @Test(.enabled(if: canRun, "needs root, unshare, setpriv, systemd-analyze, dig, getent and curl"))
    func systemdResolvedGetsADropIn() throws {
        let run = try Self.run("resolved")
        #expect(run.setupFailures.isEmpty, "\(run.setupFailures)\n\(run.logs)")
        guard run.setupFailures.isEmpty else { return }
        Self.checkCommon(run, prefix: "/usr/local/svcdns")

        // resolved's stub stays /etc/resolv.conf; svcdns forwards to resolved's upstreams, leaving itself out.
        #expect(run("resolv.conf-link").lines == ["../run/systemd/resolve/stub-resolv.conf"])
        #expect(run("upstreams").lines == ["/run/systemd/resolve/resolv.conf"])
        #expect(
            run("dropin").lines.filter { !$0.hasPrefix("#") } == [
                "[Resolve]", "DNS=\(Self.dnsAddress)", "Domains=~cluster.local",
            ],
            "\(run("dropin").lines)"
        )
        #expect(run("cluster-name").lines == ["10.96.0.10"], "\(run.logs)")
        #expect(run("forwarded-name").lines == ["127.0.10.1"], "\(run.logs)")
        #expect(
            run("systemctl").lines == [
                "is-active --quiet systemd-resolved.service", "daemon-reload", "enable --quiet svcdns.service",
                "restart svcdns.service", "is-active --quiet systemd-resolved.service",
                "try-restart systemd-resolved.service",
                "disable --now --quiet svcdns.service", "daemon-reload", "try-restart systemd-resolved.service",
            ],
            "\(run("systemctl").lines)"
        )
        let differences = Self.differences(run)
        #expect(differences.isEmpty, "not as it was before the install:\n\(differences.joined(separator: "\n"))")
    }

    /// Runs in the namespace, as root: sets up the host, installs, serves, stops, uninstalls.
    static let script = #"""
        #!/usr/bin/env bash
        # Runs in a private mount and network namespace: scripts/install on copies of /etc, /usr/local, /var/lib
        # and an empty /run, in one of three hosts (scenario):
        #   plain     /etc/resolv.conf a file, systemd not PID 1 (this machine): the test starts svcdns as the unit
        #             would
        #   symlink   /etc/resolv.conf a relative link (resolvconf's), systemd emulated by a fake systemctl
        #   resolved  systemd-resolved "runs" (the fake systemctl says so): a drop-in, /etc/resolv.conf untouched
        # Prints RESULT<TAB>label<TAB>status<TAB>output lines joined by |, and writes the listings of the three trees
        # before the install and after the uninstall to $folder/before.listing and $folder/after.listing.
        set -u
        scenario=$1 folder=$2 repository=$3 svcdns=$4 nsd=$5
        install=$repository/scripts/install
        export SVCDNS_NS_FOLDER=$folder

        . "$folder/unit.sh"
        trap 'stop_unit >/dev/null 2>&1; stop_nsd' EXIT
        stop_nsd() {
            [ -s "$folder/nsd.pid" ] || return 0
            kill -TERM "$(cat "$folder/nsd.pid")" 2>/dev/null
            for _ in $(seq 50); do [ -s "$folder/nsd.status" ] && break; sleep 0.1; done
            kill -KILL "$(cat "$folder/nsd.pid")" 2>/dev/null
            rm -f "$folder/nsd.pid"
        }

        must() { "$@" || { printf 'SETUP-FAILED\t%s\n' "$*"; exit 1; }; }
        result() {
            local label=$1; shift
            local output status
            output=$(timeout -s KILL 20 "$@" 2>&1)
            status=$?
            printf 'RESULT\t%s\t%s\t%s\n' "$label" "$status" "$(printf '%s' "$output" | tr '\n' '|')"
        }

        # ---- A host of our own ----
        must ip link set lo up
        # Copies, in a tmpfs, of the trees scripts/install writes: the rest of the system stays as it is, and
        # nothing written here reaches the machine.
        must mkdir -p "$folder/host"
        must mount -t tmpfs -o mode=0700 tmpfs "$folder/host"
        for tree in /etc /usr/local /var/lib; do
            must mkdir -p "$folder/host$tree"
            must cp -a "$tree/." "$folder/host$tree/"
            must mount --bind "$folder/host$tree" "$tree"
        done
        must mount -t tmpfs -o mode=0755 tmpfs /run

        # The host's resolvers before the install: NSD on 127.0.0.1:53, serving upstream.test.
        rm -f /etc/resolv.conf
        case "$scenario" in
        plain)
            printf 'nameserver 127.0.0.1\nsearch example.internal\noptions timeout:1 attempts:2\n' >/etc/resolv.conf
            chmod 0640 /etc/resolv.conf
            touch -d '2020-01-02 03:04:05' /etc/resolv.conf
            ;;
        symlink)
            mkdir -p /run/resolvconf
            printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >/run/resolvconf/resolv.conf
            ln -s ../run/resolvconf/resolv.conf /etc/resolv.conf
            ;;
        resolved)
            mkdir -p /run/systemd/resolve
            printf 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n' >/run/systemd/resolve/stub-resolv.conf
            # resolved's list of every server it knows: svcdns's own address (the global DNS= of the drop-in) first.
            printf 'nameserver 127.0.0.153\nnameserver 127.0.0.1\n' >/run/systemd/resolve/resolv.conf
            ln -s ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
            ;;
        esac
        if [ "$scenario" != plain ]; then
            # systemd as PID 1, as far as scripts/install can tell: the marker sd_booted() looks for, and a systemctl
            # that starts and stops svcdns the way the unit does.
            mkdir -p /run/systemd/system
            [ "$scenario" = resolved ] && touch "$folder/resolved-runs"
            export PATH="$folder/bin:$PATH"
        fi

        python3 "$folder/supervise.py" "$folder/nsd.pid" "$folder/nsd.status" "$nsd" -d -c "$folder/upstream/nsd.conf" \
            </dev/null >"$folder/nsd.out" 2>&1 &
        for _ in $(seq 100); do
            dig +short +norec +time=1 +tries=1 @127.0.0.1 upstream.test SOA 2>/dev/null | grep -qv '^;' && break
            sleep 0.1
        done

        listing() {
            # Every entry's kind, mode, owner, size, link target and (but for folders, which gain and lose
            # entries) modification time; then every file's SHA-256.
            find /etc /usr/local /var/lib -xdev -printf '%y %m %U:%G %s %p -> %l %T@\n' |
                sed -E 's/^(d .*) [0-9.]+$/\1/' | LC_ALL=C sort
            find /etc /usr/local /var/lib -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        }
        listing >"$folder/before.listing"

        # ---- Install ----
        result not-root setpriv --reuid=65534 --regid=65534 --clear-groups bash -s -- --resolver <"$install"
        prefix=/usr/local
        [ "$scenario" = resolved ] && prefix=/usr/local/svcdns
        result install bash "$install" --resolver --binary "$svcdns" --prefix "$prefix"
        # Installing again records nothing new: the saved /etc/resolv.conf stays the original.
        [ "$scenario" = symlink ] && result install-again bash "$install" --resolver --binary "$svcdns"
        result verify systemd-analyze verify /etc/systemd/system/svcdns.service
        result execstart sed -n 's/^ExecStart=//p' /etc/systemd/system/svcdns.service
        result unit diff <(grep -v '^ExecStart=' /etc/systemd/system/svcdns.service) \
            <(grep -v '^ExecStart=' "$repository/packaging/svcdns.service")
        result binary cmp "$prefix/bin/svcdns" "$svcdns"
        result binary-mode stat -c '%a %U' "$prefix/bin/svcdns"
        result config cmp /etc/default/svcdns "$repository/packaging/svcdns.default"
        result sample cmp /etc/svcdns/zones/example.yaml.sample "$repository/packaging/example.yaml.sample"
        result upstreams readlink -f /etc/svcdns/upstream.resolv.conf
        result upstreams-content cat /etc/svcdns/upstream.resolv.conf
        result resolv.conf cat /etc/resolv.conf
        result resolv.conf-link readlink /etc/resolv.conf
        result dropin cat /etc/systemd/resolved.conf.d/svcdns.conf

        # ---- Serve: the example, as a user would, from svcdns started as the unit starts it ----
        cp /etc/svcdns/zones/example.yaml.sample /etc/svcdns/zones/example.yaml
        # Where systemd is PID 1 (the fake systemctl), scripts/install started it.
        [ "$scenario" = plain ] && start_unit
        wait_for_dns
        wait_for_name web.default.svc.cluster.local
        result process sh -c 'pid=$(cat "$SVCDNS_NS_FOLDER/svcdns.pid")
            grep -E "^(Uid|Gid|Groups|CapEff|CapAmb|CapBnd|NoNewPrivs):" "/proc/$pid/status"
            grep "open files" "/proc/$pid/limits"'
        result store ls /var/lib/private/svcdns
        if [ "$scenario" = resolved ]; then
            # resolved would ask svcdns; /etc/resolv.conf is still resolved's stub.
            result cluster-name dig +short +time=2 +tries=1 @127.0.0.153 web.default.svc.cluster.local
            result forwarded-name dig +short +time=2 +tries=1 @127.0.0.153 www.upstream.test
        else
            # glibc, through the new /etc/resolv.conf.
            result cluster-name getent hosts web.default.svc.cluster.local
            result forwarded-name getent hosts www.upstream.test
        fi
        rm -f /etc/svcdns/zones/example.yaml

        # ---- Stop (through the lameduck) and uninstall ----
        # Where systemd is PID 1, uninstalling stops it.
        [ "$scenario" = plain ] && result stop bash -c '. "$SVCDNS_NS_FOLDER/unit.sh"; stop_unit_observed'
        if [ "$scenario" = symlink ]; then
            # Without --purge the store stays: the one difference the listings may have.
            result uninstall bash "$install" --uninstall
        else
            result uninstall bash "$install" --uninstall --purge
        fi
        result stops cat "$folder/stopped"
        result systemctl cat "$folder/systemctl.log"
        listing >"$folder/after.listing"

        """#

    /// svcdns.service carried out by hand, as systemd would: sourced by the script and the fake systemctl.
    static let unitFunctions = #"""
        # svcdns.service carried out by hand, as systemd would (sourced by run.sh and the fake systemctl).
        folder=$SVCDNS_NS_FOLDER
        unit=/etc/systemd/system/svcdns.service

        # ExecStart with the EnvironmentFile's variables: $NAME splits at blanks, ${NAME} is one word.
        unit_command() {
            local envfile word name
            envfile=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")
            set -a
            . "$envfile"
            set +a -f
            for word in $(sed -n 's/^ExecStart=//p' "$unit"); do
                case "$word" in
                '${'*'}') name=${word:2:-1}; printf '%s\n' "${!name}" ;;
                '$'*) name=${word:1}; printf '%s\n' ${!name} ;;
                *) printf '%s\n' "$word" ;;
                esac
            done
            set +f
        }

        # Starts it: DynamicUser (a uid from systemd's range, 61184-65519, with no name), StateDirectory
        # (/var/lib/private/svcdns, linked from /var/lib/svcdns and owned by that uid; in the service's own mount
        # namespace /var/lib/private holds that folder only), AmbientCapabilities and CapabilityBoundingSet
        # CAP_NET_BIND_SERVICE, NoNewPrivileges, UMask 0077 and LimitNOFILE.
        start_unit() {
            local uid=61184 command limit
            mapfile -t command < <(unit_command)
            limit=$(sed -n 's/^LimitNOFILE=//p' "$unit")
            [ -d /var/lib/private ] || mkdir -m 0700 /var/lib/private
            [ -d /var/lib/private/svcdns ] || mkdir -m 0700 /var/lib/private/svcdns
            chown -R "$uid:$uid" /var/lib/private/svcdns
            [ -L /var/lib/svcdns ] || ln -s private/svcdns /var/lib/svcdns
            mkdir -p /run/svcdns-state
            rm -f "$folder/svcdns.pid" "$folder/svcdns.status"
            python3 "$folder/supervise.py" "$folder/svcdns.pid" "$folder/svcdns.status" \
                unshare --mount --propagation private bash -c '
                    mount --bind /var/lib/private/svcdns /run/svcdns-state &&
                    mount -t tmpfs -o mode=0755 tmpfs /var/lib/private && mkdir /var/lib/private/svcdns &&
                    mount --bind /run/svcdns-state /var/lib/private/svcdns && umount /run/svcdns-state || exit 1
                    umask 0077
                    # LimitNOFILE, or the hard limit where that is lower (raising it needs CAP_SYS_RESOURCE,
                    # which a container may not have).
                    limit=$1 hard=$(ulimit -Hn)
                    [ "$hard" != unlimited ] && [ "$hard" -lt "$limit" ] && limit=$hard
                    ulimit -n "$limit" || exit 1
                    shift
                    exec setpriv --reuid="$0" --regid="$0" --clear-groups --no-new-privs \
                        --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service \
                        --bounding-set=-all,+net_bind_service -- "$@"' "$uid" "$limit" "${command[@]}" \
                </dev/null >>"$folder/svcdns.log" 2>&1 &
            for _ in $(seq 50); do [ -s "$folder/svcdns.pid" ] && break; sleep 0.1; done
        }

        # At most 10 s until it answers DNS.
        wait_for_dns() {
            for _ in $(seq 100); do
                dig +short +time=1 +tries=1 @127.0.0.153 dns-version.cluster.local TXT 2>/dev/null | grep -qv '^;' &&
                    return 0
                [ -s "$folder/svcdns.status" ] && break
                sleep 0.1
            done
            printf 'SETUP-FAILED\tsvcdns did not answer on 127.0.0.153:53 within 10 s\n'
            exit 1
        }

        # At most 10 s until `name` has an address: a file dropped into the zones folder is served within a second
        # or two.
        wait_for_name() {
            for _ in $(seq 100); do
                [ -n "$(dig +short +time=1 +tries=1 @127.0.0.153 "$1" 2>/dev/null | grep -v '^;')" ] && return 0
                sleep 0.1
            done
            printf 'SETUP-FAILED\tsvcdns did not serve %s within 10 s\n' "$1"
            exit 1
        }

        stop_seconds() { sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}$/\1/p' "$unit"; }

        # Waits (at most TimeoutStopSec, counted from `start`, in ns) for the exit; SIGKILL after, as systemd does.
        await_stop() {
            local start=$1 timeout pid
            timeout=$(stop_seconds)
            pid=$(cat "$folder/svcdns.pid")
            while [ ! -s "$folder/svcdns.status" ] && [ $(($(date +%s%N) - start)) -lt $((timeout * 1000000000)) ]; do
                sleep 0.05
            done
            [ -s "$folder/svcdns.status" ] || { kill -KILL "$pid"; sleep 0.5; echo "killed" >"$folder/svcdns.status"; }
            printf '%s %d\n' "$(cat "$folder/svcdns.status")" $((($(date +%s%N) - start) / 1000000)) >>"$folder/stopped"
            rm -f "$folder/svcdns.pid"
        }

        # systemctl stop: KillSignal (SIGTERM), then await_stop.
        stop_unit() {
            [ -s "$folder/svcdns.pid" ] || return 0
            local start
            start=$(date +%s%N)
            kill -"$(sed -n 's/^KillSignal=SIG//p' "$unit")" "$(cat "$folder/svcdns.pid")"
            await_stop "$start"
        }

        # Stops it as stop_unit does, looking in during the lameduck: /readyz, and a DNS query.
        stop_unit_observed() {
            local start
            start=$(date +%s%N)
            kill -"$(sed -n 's/^KillSignal=SIG//p' "$unit")" "$(cat "$folder/svcdns.pid")"
            sleep 0.2
            echo "readyz $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:8053/readyz)"
            echo "dns $(dig +short +time=1 +tries=1 @127.0.0.153 web.default.svc.cluster.local)"
            await_stop "$start"
            echo "stopped $(cat "$folder/stopped")"
        }

        """#

    /// The one process between a shell and a server: clean signals and descriptors, pid and exit status in files.
    static let supervise = #"""
        # Starts a server as systemd would and waits for it: every signal unblocked and no descriptor but 0-2
        # inherited (the test process blocks SIGTERM, and the socket Foundation's Process watches must not be held),
        # its pid written to argv[1] and, once it ends, its exit status (or "signal N") to argv[2].
        import os, signal, sys
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.closerange(3, 65536)
        pid = os.fork()
        if pid == 0:
            os.execvp(sys.argv[3], sys.argv[3:])
        with open(sys.argv[1] + ".new", "w") as f:
            f.write(f"{pid}\n")
        os.rename(sys.argv[1] + ".new", sys.argv[1])
        _, raw = os.waitpid(pid, 0)
        status = f"signal {os.WTERMSIG(raw)}" if os.WIFSIGNALED(raw) else f"{os.WEXITSTATUS(raw)}"
        with open(sys.argv[2] + ".new", "w") as f:
            f.write(status + "\n")
        os.rename(sys.argv[2] + ".new", sys.argv[2])

        """#

    /// systemctl where systemd "is" PID 1.
    static let fakeSystemctl = #"""
        #!/usr/bin/env bash
        # systemctl on a host where systemd would be PID 1: logs each call; starts and stops svcdns as the unit would.
        . "$SVCDNS_NS_FOLDER/unit.sh"
        echo "$*" >>"$SVCDNS_NS_FOLDER/systemctl.log"
        case "$*" in
        "is-active --quiet systemd-resolved.service") [ -e "$SVCDNS_NS_FOLDER/resolved-runs" ] ;;
        "restart svcdns.service") stop_unit; start_unit ;;
        "disable --now --quiet svcdns.service") stop_unit ;;
        *) exit 0 ;;
        esac

        """#
}
