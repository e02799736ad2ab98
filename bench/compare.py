"""--mode compare: svcdns, Knot and NSD on the same 1,000-Service cluster, and the floor.

The floor (bench/floor.c) answers every datagram with itself: the kernel's UDP path and dnsperf alone, the
part of every server's CPU per query that no server can remove. What a server adds above it is its own work.

The machine is shared and noisy: in one run the floor itself moved between 131k and 153k queries/s, and two
comparisons 40 minutes apart gave svcdns/NSD above the floor 1.20 and then 0.62. So all servers start once,
each on its own port, and are measured in interleaved rounds (floor, svcdns, Knot, NSD, floor, svcdns, ...).
Each round's ratios are taken against that round's floor; the median ratio is printed with its range over
the rounds, and a target counts as met only when the whole range is on its side.
"""
import os, statistics

from bench.cluster import Cluster, generate
from bench.load import run_once
from bench.processes import CLIENT_CPU, SERVER_CPU, memory_mb, rss_mb, start, stop
from bench.servers import PORT, reference_configs, svcdns_command
from bench.wire import answers, correct

# svcdns's CPU per query above the floor is to be at most Knot's ÷ 1.3 and NSD's ÷ 1.1.
TARGETS = {"Knot": 1 / 1.3, "NSD": 1 / 1.1}
MINIMUM_ROUNDS = 5
ORDER = ["floor", "svcdns", "Knot", "NSD"]


def start_servers(binary, folder, zones, floor_binary, protocol):
    """Every server of the comparison on its own port, answering correctly: name → (process, port, seconds
    from start to the first correct answer). An idle server costs nothing while another one is measured."""
    servers = [("svcdns", svcdns_command(binary, zones, folder, "--log-level", "error", port=PORT), False, PORT)]
    servers += reference_configs(folder, knot_port=PORT + 1, nsd_port=PORT + 2)
    started = {}
    for name, command, pin, port in servers:
        check = lambda port=port: correct(port)
        started[name] = (*start(name, command, check, ready=check, pin_threads=pin), port)
    if protocol == "udp":
        echo = lambda: answers(PORT + 3, any_reply=True)
        started["floor"] = (*start("floor", [floor_binary, str(PORT + 3)], echo, ready=echo), PORT + 3)
    return started


def spread(values, digits=2, thousands=False):
    """`median (min–max)` of a list of numbers."""
    form = ",.0f" if thousands else f".{digits}f"
    return f"{statistics.median(values):{form}} ({min(values):{form}}–{max(values):{form}})"


def mode_compare(args, binary, folder, floor_binary):
    cluster = Cluster(args.services, args.headless, args.endpoints)
    zones = generate(folder, cluster, args.format)
    queries = os.path.join(folder, "queries.txt")
    started = start_servers(binary, folder, zones, floor_binary, args.protocol)
    names = [name for name in ORDER if name in started]
    rounds = {name: [] for name in names}
    try:
        for _ in range(args.runs):
            for name in names:
                process, _, port = started[name]
                rounds[name].append(run_once(process, queries, args.seconds, args.protocol, port))
        memory = {name: (rss_mb(process.pid), memory_mb(process.pid, "VmHWM")) for name, (process, _, _) in started.items()}
    finally:
        for process, _, _ in started.values():
            stop(process)

    floor = rounds.get("floor")
    print(f"\n{args.protocol.upper()}, {cluster.description}, {args.runs} interleaved rounds of {args.seconds} s "
          f"({' → '.join(names)}), servers on CPU {SERVER_CPU}, dnsperf on CPU {CLIENT_CPU}")
    print(f"{'server':8} {'queries/s median (range)':>28} {'CPU µs/q median (range)':>26} {'above floor':>22} "
          f"{'latency ms':>11} {'lost':>6} {'RSS MB':>7} {'load s':>7}")
    for name in names:
        runs = rounds[name]
        above = "-"
        if floor and name != "floor":
            above = spread([r["cpu_us"] - f["cpu_us"] for r, f in zip(runs, floor)])
        print(f"{name:8} {spread([r['qps'] for r in runs], thousands=True):>28} {spread([r['cpu_us'] for r in runs]):>26} "
              f"{above:>22} {statistics.median(r['latency_ms'] for r in runs):>11.3f} {sum(r['lost'] for r in runs):>6} "
              f"{memory[name][0]:>7.1f} {started[name][1]:>7.2f}")

    print("\nsvcdns / other, per round, median (range):")
    mine = rounds["svcdns"]
    for other in ("Knot", "NSD"):
        theirs = rounds[other]
        line = (f"  / {other}: queries/s {spread([m['qps'] / t['qps'] for m, t in zip(mine, theirs)])}, "
                f"CPU per query {spread([m['cpu_us'] / t['cpu_us'] for m, t in zip(mine, theirs)])}")
        if floor:
            above = [(m["cpu_us"] - f["cpu_us"]) / max(t["cpu_us"] - f["cpu_us"], 1e-9)
                     for m, t, f in zip(mine, theirs, floor)]
            goal = TARGETS[other]
            verdict = "met" if max(above) <= goal else ("not met" if min(above) > goal else "undecided (range straddles it)")
            line += f", CPU above the floor {spread(above)}: target ≤ {goal:.2f} {verdict}"
        print(line)
    if args.runs < MINIMUM_ROUNDS:
        print(f"  ({args.runs} rounds: fewer than {MINIMUM_ROUNDS}, too few for the range to say much)")
