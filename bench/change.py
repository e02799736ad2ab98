"""--mode change: how long a change takes to be served, at 100,000 Services under dnsperf load.

--changes writes through the HTTP API (a new Service, then a new ClusterIP for it, alternately) and
--file-changes new manifest files followed by SIGHUP; after each, a raw UDP socket asks until the new answer
is served. Prints p50/p99/max from the write's start and from its acknowledgement.
"""
import http.client, json, os, signal, statistics, subprocess, sys, time

from bench.cluster import Cluster, generate
from bench.load import dnsperf_command, parse_dnsperf, percentile
from bench.processes import CLIENT_CPU, SERVER_CPU, cpu_seconds, start, start_unpinned, stop
from bench.servers import HTTP_PORT, PORT, metrics, snapshot_builds, svcdns_command
from bench.wire import Poller, answers, correct


def mode_change(args, binary, folder):
    cluster = Cluster(args.services, args.headless, args.endpoints)
    zones = generate(folder, cluster, args.format, zone_file=False)
    queries = os.path.join(folder, "queries.txt")
    token = "bench-" + os.urandom(8).hex()
    log = os.path.join(folder, "svcdns.log")
    process, load = start("svcdns", svcdns_command(binary, zones, folder, "--log-level", "error", "--api-token", token),
                          lambda: correct(PORT), timeout=args.start_timeout, log=log,
                          ready=lambda: answers(PORT, "pod-1.headless-1.ns-1.svc.cluster.local"))
    load_seconds = args.changes * 5 + args.file_changes * 5 + 60
    perf = start_unpinned(dnsperf_command(queries, load_seconds, "udp", args.rate), stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
    poller = Poller(PORT)
    api, files = [], []
    try:
        time.sleep(2)  # dnsperf up to speed
        before = snapshot_builds(metrics())
        cpu_before, wall_before = cpu_seconds(process.pid), time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for i in range(args.changes):
            # Even: a new Service; odd: the previous one's ClusterIP changed.
            n = i - i % 2
            name, ip = f"change-{n}", f"10.111.{i >> 8}.{i & 255}"
            body = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns-0"},
                               "spec": {"clusterIP": ip, "ports": [{"name": "http", "port": 80}]}})
            began = time.monotonic()
            connection.request("PUT", f"/api/v1/namespaces/ns-0/services/{name}", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            acknowledged = time.monotonic()
            if response.status not in (200, 201):
                sys.exit(f"bench: PUT {name} answered {response.status}")
            seen = poller.wait_for(f"{name}.ns-0.svc.cluster.local", ip, args.change_timeout)
            if seen is None:
                sys.exit(f"bench: {name} -> {ip} not served within {args.change_timeout} s of its write")
            api.append((began, acknowledged, seen, "create" if i % 2 == 0 else "update"))
        connection.close()
        api_builds = snapshot_builds(metrics())
        for k in range(args.file_changes):
            name, ip = f"file-change-{k}", f"10.110.{k >> 8}.{k & 255}"
            hidden = os.path.join(zones, f".file-change-{k}.tmp")
            with open(hidden, "w") as f:
                f.write(f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: ns-0}}\n"
                        f"spec: {{clusterIP: {ip}, ports: [{{name: http, port: 80}}]}}\n")
            began = time.monotonic()
            os.rename(hidden, os.path.join(zones, f"file-change-{k}.yaml"))  # hidden files are not read
            os.kill(process.pid, signal.SIGHUP)
            acknowledged = time.monotonic()
            seen = poller.wait_for(f"{name}.ns-0.svc.cluster.local", ip, args.change_timeout)
            if seen is None:
                sys.exit(f"bench: {name} -> {ip} not served within {args.change_timeout} s of its file")
            files.append((began, acknowledged, seen, "file"))
        after = snapshot_builds(metrics())
        cpu_used, wall = cpu_seconds(process.pid) - cpu_before, time.monotonic() - wall_before
    finally:
        poller.close()
        try:
            os.killpg(perf.pid, signal.SIGINT)  # dnsperf prints its statistics on SIGINT
            out = perf.communicate(timeout=15)[0]
        except Exception:
            out = ""
        stop(perf)
        stop(process)
    load_stats = parse_dnsperf(out or "")

    def line(label, samples, first, second):
        values = [(s[second] - s[first]) * 1000 for s in samples]
        if not values:
            return
        print(f"  {label:36} {statistics.median(values):>8.1f} {percentile(values, 99):>8.1f} {max(values):>8.1f} {len(values):>6}")

    rate = f"dnsperf at most {args.rate:,} queries/s" if args.rate else "dnsperf as fast as it can"
    print(f"\nChange → visible: {cluster.description}, svcdns on CPU {SERVER_CPU}, {rate} on CPU {CLIENT_CPU}, "
          f"poller and writer unpinned; loaded in {load:.2f} s")
    print(f"  {'ms':36} {'p50':>8} {'p99':>8} {'max':>8} {'count':>6}")
    line("API write start → served", api, 0, 2)
    line("API write acknowledged → served", api, 1, 2)
    line("API write start → acknowledged", api, 0, 1)
    line("  creates: write start → served", [s for s in api if s[3] == "create"], 0, 2)
    line("  ClusterIP changes: start → served", [s for s in api if s[3] == "update"], 0, 2)
    line("file written + SIGHUP → served", files, 0, 2)
    if load_stats.get("qps"):
        print(f"  under load: dnsperf {load_stats['qps']:,.0f} queries/s, {load_stats.get('lost', 0)} lost, "
              f"latency {load_stats['latency_ms']:.3f} ms; svcdns CPU {100 * cpu_used / wall:.0f}% of a core during the changes")
    for label, (b0, s0), (b1, s1) in (("API changes", before, api_builds), ("file changes", api_builds, after)):
        if b1 > b0:
            print(f"  snapshot builds during the {label}: {b1 - b0:.0f}, mean {(s1 - s0) / (b1 - b0) * 1000:.0f} ms "
                  f"(svcdns_snapshot_build_duration_seconds)")
    print(f"  target: p99 ≤ 10 ms; the poller sent {poller.queries:,} queries")
