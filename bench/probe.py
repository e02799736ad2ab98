"""--mode probe: what health checking costs the DNS path.

1,000 Services + 1,000 headless x 10 endpoints at 127.0.0.1-127.0.0.10, with bench/listeners.c accepting on
every address: queries/s and CPU per query with every endpoint probed by TCP each --health-interval, against
the same cluster with svcdns.io/health-check: none.

And svcdns's CPU per probe with no DNS load, against a floor: bench/probefloor.c connects to the same
addresses at the same rate, as the prober does and doing nothing else (pinned to the same CPU), so what
svcdns spends above it is the prober's own work rather than the kernel's connect and teardown.
"""
import json, os, resource, signal, subprocess, sys, time

from bench.cluster import PROBE_PORT, Cluster, generate
from bench.load import measure
from bench.processes import CLIENT_CPU, SERVER_CPU, cpu_seconds, start, start_unpinned, stop
from bench.servers import PORT, http_get, metric, metrics, svcdns_command
from bench.wire import correct


def mode_probe(args, binary, folder, listeners_binary, floor_binary):
    interval = args.health_interval
    addresses = [f"127.0.0.{k}" for k in range(1, 11)]
    rows = []
    listener = start_unpinned(["taskset", "-c", args.listener_cpu, listeners_binary, str(PROBE_PORT)] + addresses,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if listener.stdout.readline().strip() != "listening":
        sys.exit(f"bench: bench/listeners did not start: {listener.stderr.read()}")
    try:
        for probed in (False, True):
            cluster = Cluster(args.services, args.headless, args.endpoints, probed=probed,
                              address=lambda h, e: addresses[e % len(addresses)])
            where = os.path.join(folder, "probed" if probed else "unprobed")
            os.makedirs(where)
            zones = generate(where, cluster, args.format, zone_file=False)
            extra = ["--health-interval", interval, "--log-level", "error"]
            check = lambda: correct(PORT)
            process, load = start("svcdns", svcdns_command(binary, zones, where, *extra), check, ready=check,
                                  timeout=args.start_timeout)
            try:
                waited, states = 0.0, {}
                if probed:
                    began = time.monotonic()
                    while time.monotonic() - began < 120:
                        status, body = http_get("/status/endpoints")
                        items = json.loads(body)["endpoints"] if status == 200 else []
                        states = {}
                        for item in items:
                            states[item["state"]] = states.get(item["state"], 0) + 1
                        if states.get("up", 0) == cluster.headless * cluster.endpoints:
                            break
                        time.sleep(1)
                    else:
                        sys.exit(f"bench: endpoints not all up after 120 s: {states}")
                    waited = time.monotonic() - began
                    idle = idle_probe_cost(process, args.seconds)
                text = metrics()
                probes_before, wall_before = metric(text, "svcdns_health_probes_total"), time.monotonic()
                listener_before = cpu_seconds(listener.pid)
                row = measure("svcdns", process, load, args, os.path.join(where, "queries.txt"), "udp")
                wall = time.monotonic() - wall_before
                text = metrics()
                row["probes_per_s"] = (metric(text, "svcdns_health_probes_total") - probes_before) / wall
                failures = 'svcdns_health_probes_total{result="failure"}'
                row["failures"] = sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(failures))
                row["listener_cpu"] = 100 * (cpu_seconds(listener.pid) - listener_before) / wall
                row["up"], row["waited"], row["probed"] = states.get("up", 0), waited, probed
                if probed:
                    row["idle"] = idle
                row["cluster"] = cluster
                rows.append(row)
            finally:
                stop(process)
        # The floor, with no svcdns running: the same probe rate, on the CPU svcdns had.
        idle = rows[1]["idle"]
        floor = floor_probe_cost(floor_binary, idle["rate"], args.seconds, addresses)
    finally:
        listener.send_signal(signal.SIGTERM)
        try:
            accepted = listener.communicate(timeout=10)[0].strip()
        except Exception:
            accepted = "?"
        stop(listener)

    print(f"\nProbing under load: {rows[0]['cluster'].description.replace(' (probed)', '')}, endpoints at "
          f"127.0.0.1-127.0.0.10:{PROBE_PORT}; UDP, {args.runs} runs of {args.seconds} s, svcdns on CPU {SERVER_CPU}, "
          f"dnsperf on CPU {CLIENT_CPU}, bench/listeners on CPU {args.listener_cpu}")
    print(f"{'probing':22} {'queries/s median (range)':>30} {'CPU µs/q':>9} {'latency ms':>10} {'lost':>6} {'RSS MB':>7} "
          f"{'probes/s':>9} {'failed':>7} {'listeners CPU':>13}")
    for r in rows:
        label = f"TCP every {interval}, {r['up']:,} up" if r["probed"] else "none"
        print(f"{label:22} {r['qps']:>10,.0f} ({r['qps_min']:,.0f}–{r['qps_max']:,.0f}) {r['cpu_us']:>9.2f} "
              f"{r['latency_ms']:>10.3f} {r['lost']:>6} {r['rss']:>7.1f} {r['probes_per_s']:>9,.0f} {r['failures']:>7.0f} "
              f"{r['listener_cpu']:>12.1f}%")
    off, on = rows
    print(f"probed / unprobed: queries/s {on['qps'] / off['qps']:.3f} (target ≥ 0.9), CPU per query "
          f"{on['cpu_us'] / off['cpu_us']:.3f}; all endpoints up {on['waited']:.1f} s after load; listeners: {accepted}")
    print(f"CPU per probe with no DNS load, {args.seconds} s: svcdns {idle['us']:.1f} µs at {idle['rate']:,.0f} probes/s; "
          f"floor (bench/probefloor.c, same rate, CPU {SERVER_CPU}) {floor['us']:.1f} µs ({floor['failed']} failed); "
          f"svcdns above the floor {idle['us'] - floor['us']:.1f} µs (target ≤ 5)")


def idle_probe_cost(process, seconds):
    """svcdns's CPU per probe over `seconds` with no DNS traffic: its whole CPU over the probes it made."""
    probes_before, cpu_before, wall_before = metric(metrics(), "svcdns_health_probes_total"), cpu_seconds(process.pid), time.monotonic()
    time.sleep(seconds)
    probes = metric(metrics(), "svcdns_health_probes_total") - probes_before
    cpu, wall = cpu_seconds(process.pid) - cpu_before, time.monotonic() - wall_before
    return {"us": cpu * 1e6 / max(probes, 1), "rate": probes / wall}


def floor_probe_cost(floor_binary, rate, seconds, addresses):
    """bench/probefloor.c's CPU per probe at `rate` probes/s for `seconds`, pinned to the server CPU."""
    # Its CPU is what the children reaped meanwhile used: this run alone (the listener is reaped later).
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["taskset", "-c", SERVER_CPU, floor_binary, f"{rate:.0f}", str(seconds), str(PROBE_PORT)]
                         + addresses, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished, failed = (int(field) for field in out.split())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"us": cpu * 1e6 / max(finished + failed, 1), "failed": failed}
