"""--mode replicas: three svcdns replicas sharing a three-member etcd, each under its own dnsperf.

Writes go through the API of one replica after another; raw UDP sockets ask all three at once until each
serves the change. Prints p50/p99/max of the etcd commit and of the propagation to the other replicas.
"""
import http.client, json, os, select, signal, statistics, subprocess, sys, time

from bench.cluster import Cluster, generate
from bench.load import dnsperf_command, parse_dnsperf, percentile
from bench.processes import CLIENT_CPU, SERVER_CPU, cpu_seconds, start, start_unpinned, stop
from bench.servers import HTTP_PORT, PORT, http_get
from bench.wire import Poller, answer_addresses, answers, dns_query


ETCD_CLIENT_PORTS = [12379, 22379, 32379]
ETCD_PEER_PORTS = [12380, 22380, 32380]


def start_etcd_cluster(folder, logs):
    """A three-member etcd on 127.0.0.1 (unpinned), its data under `folder`; waits until every member is healthy."""
    cluster = ",".join(f"m{k}=http://127.0.0.1:{peer}" for k, peer in enumerate(ETCD_PEER_PORTS))
    members = []
    for k, (client, peer) in enumerate(zip(ETCD_CLIENT_PORTS, ETCD_PEER_PORTS)):
        command = ["etcd", "--name", f"m{k}", "--data-dir", os.path.join(folder, f"etcd-m{k}"),
                   "--listen-client-urls", f"http://127.0.0.1:{client}", "--advertise-client-urls", f"http://127.0.0.1:{client}",
                   "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                   "--initial-cluster", cluster, "--initial-cluster-state", "new"]
        with open(os.path.join(logs, f"etcd-m{k}.log"), "w") as log:
            member = start_unpinned(command, stdout=log, stderr=log)
        members.append(member)
    deadline = time.monotonic() + 30
    for client, member in zip(ETCD_CLIENT_PORTS, members):
        while True:
            if member.poll() is not None:
                sys.exit(f"bench: etcd on {client} exited with {member.returncode} (its log is in {logs})")
            try:
                status, body = http_get("/health", timeout=1, port=client)
                if status == 200 and b'"true"' in body:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"bench: etcd on {client} not healthy within 30 s")
            time.sleep(0.1)
    return members


def ask_together(pollers, name, address, limit_s):
    """Asks every poller's server at once, again and again, until each has answered `address`: the time each
    first did (monotonic s), None for a server that did not within `limit_s`. Asking all at once keeps one
    server's reply time out of another's figure."""
    seen = [None] * len(pollers)
    deadline = time.monotonic() + limit_s
    while None in seen and time.monotonic() < deadline:
        waiting = {}
        for k, poller in enumerate(pollers):
            if seen[k] is None:
                query = dns_query(name)
                poller.sock.send(query)
                poller.queries += 1
                waiting[poller.sock] = (k, query[:2])
        round_ends = time.monotonic() + 0.05
        while waiting and time.monotonic() < round_ends:
            ready, _, _ = select.select(list(waiting), [], [], max(round_ends - time.monotonic(), 0))
            for sock in ready:
                reply = sock.recv(4096)
                k, query_id = waiting[sock]
                if reply[:2] != query_id:
                    continue  # a late reply to an earlier round
                del waiting[sock]
                if reply[3] & 0x0F == 0 and address in answer_addresses(reply):
                    seen[k] = time.monotonic()
    return seen


def mode_replicas(args, binary, folder):
    """Three replicas sharing a three-member etcd, each under its own dnsperf: writes through the API of one
    replica after another, and the time until the writer and both other replicas answer the change."""
    cluster = Cluster(args.services, args.headless, args.endpoints)
    zones = generate(folder, cluster, args.format, zone_file=False)
    queries = os.path.join(folder, "queries.txt")
    token = "bench-" + os.urandom(8).hex()
    start_etcd_cluster(folder, folder)
    store = "etcd://" + ",".join(f"127.0.0.1:{port}" for port in ETCD_CLIENT_PORTS) + "/svcdns-bench"
    replicas = []
    for k in range(3):
        dns_port, http_port = PORT + k, HTTP_PORT - k
        command = [binary, "serve", "--zones", zones, "--dns", f"127.0.0.1:{dns_port}", "--http", f"127.0.0.1:{http_port}",
                   "--upstream", "none", "--store", store, "--log-level", "error", "--api-token", token]
        process, load = start(f"svcdns replica {k}", command, lambda: True, timeout=args.start_timeout,
                              log=os.path.join(folder, f"svcdns-{k}.log"),
                              ready=lambda port=dns_port: answers(port, "pod-1.headless-1.ns-1.svc.cluster.local"))
        replicas.append({"process": process, "dns": dns_port, "http": http_port, "load": load})
    load_seconds = args.changes * 2 + 60
    perfs = []
    for replica in replicas:
        perf = start_unpinned(dnsperf_command(queries, load_seconds, "udp", args.rate, port=replica["dns"]),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        perfs.append(perf)
    pollers = [Poller(replica["dns"]) for replica in replicas]
    samples = []  # (began, acknowledged, served by the writer, served by both others)
    try:
        time.sleep(2)  # dnsperf up to speed
        cpu_before, wall_before = [cpu_seconds(r["process"].pid) for r in replicas], time.monotonic()
        connections = [http.client.HTTPConnection("127.0.0.1", r["http"], timeout=30) for r in replicas]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for i in range(args.changes):
            writer = i % len(replicas)
            # Even: a new Service; odd: the previous one's ClusterIP changed, each on another replica.
            n = i - i % 2
            name, ip = f"shared-{n}", f"10.112.{i >> 8}.{i & 255}"
            body = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns-0"},
                               "spec": {"clusterIP": ip, "ports": [{"name": "http", "port": 80}]}})
            began = time.monotonic()
            connections[writer].request("PUT", f"/api/v1/namespaces/ns-0/services/{name}", body=body, headers=headers)
            response = connections[writer].getresponse()
            response.read()
            acknowledged = time.monotonic()
            if response.status not in (200, 201):
                sys.exit(f"bench: PUT {name} on replica {writer} answered {response.status}")
            seen = ask_together(pollers, f"{name}.ns-0.svc.cluster.local", ip, args.change_timeout)
            if None in seen:
                sys.exit(f"bench: {name} -> {ip} not served by replicas {[k for k, t in enumerate(seen) if t is None]} "
                         f"within {args.change_timeout} s of its write on replica {writer}")
            others = [t for k, t in enumerate(seen) if k != writer]
            samples.append((began, acknowledged, seen[writer], max(others)))
        for connection in connections:
            connection.close()
        cpu_used = [cpu_seconds(r["process"].pid) - before for r, before in zip(replicas, cpu_before)]
        wall = time.monotonic() - wall_before
    finally:
        for poller in pollers:
            poller.close()
        outs = []
        for perf in perfs:
            try:
                os.killpg(perf.pid, signal.SIGINT)  # dnsperf prints its statistics on SIGINT
                outs.append(perf.communicate(timeout=15)[0] or "")
            except Exception:
                outs.append("")
            stop(perf)
        for replica in replicas:
            stop(replica["process"])
    loads = [parse_dnsperf(out) for out in outs]

    def line(label, first, second):
        values = [(s[second] - s[first]) * 1000 for s in samples]
        print(f"  {label:44} {statistics.median(values):>8.2f} {percentile(values, 99):>8.2f} {max(values):>8.2f} {len(values):>6}")

    rate = f"each at most {args.rate:,} queries/s" if args.rate else "each as fast as it can"
    print(f"\nReplicas: 3 svcdns replicas on CPU {SERVER_CPU} sharing a three-member etcd (unpinned), "
          f"3 dnsperf ({rate}) on CPU {CLIENT_CPU}; {cluster.description} in each replica's zones/; "
          f"writes on replica 0, 1, 2 in turn, half new Services and half ClusterIP changes")
    print(f"  {'ms':44} {'p50':>8} {'p99':>8} {'max':>8} {'count':>6}")
    line("write start → acknowledged (etcd committed)", 0, 1)
    line("acknowledged → served by the writer", 1, 2)
    line("acknowledged → served by both other replicas", 1, 3)
    line("write start → served by both other replicas", 0, 3)
    for k, (replica, stats, used) in enumerate(zip(replicas, loads, cpu_used)):
        if stats.get("qps"):
            print(f"  replica {k}: dnsperf {stats['qps']:,.0f} queries/s, {stats.get('lost', 0)} lost, latency "
                  f"{stats['latency_ms']:.3f} ms; CPU {100 * used / wall:.0f}% of a core; answered {replica['load']:.2f} s after start")
    total = sum(stats.get("qps", 0) for stats in loads)
    print(f"  all replicas together: {total:,.0f} queries/s; target: acknowledged → served by the others p99 ≤ 100 ms")
