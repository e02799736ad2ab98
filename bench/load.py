"""dnsperf, the load generator, and the figures taken from one run of it.

dnsperf runs pinned to CLIENT_CPU with 4 sockets and up to 200 queries outstanding, reading the cluster's
query file in a loop; a server's CPU per query is its /proc CPU time over the run divided by the queries
dnsperf saw answered.
"""
import statistics, subprocess

from bench.processes import CLIENT_CPU, cpu_seconds, memory_mb, rss_mb
from bench.servers import PORT


def dnsperf_command(queries, seconds, protocol, rate=None, port=PORT):
    return (["taskset", "-c", CLIENT_CPU, "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries, "-l", str(seconds),
             "-c", "4", "-T", "1", "-q", "200"] + (["-m", "tcp"] if protocol == "tcp" else [])
            + (["-Q", str(rate)] if rate else []))


def parse_dnsperf(out):
    result = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Queries completed:"):
            result["completed"] = int(line.split()[2])
        elif line.startswith("Queries lost:"):
            result["lost"] = int(line.split()[2])
        elif line.startswith("Queries per second:"):
            result["qps"] = float(line.split()[3])
        elif line.startswith("Average Latency (s):"):
            result["latency_ms"] = float(line.split()[3]) * 1000
    return result


def dnsperf(queries, seconds, protocol, port=PORT):
    out = subprocess.run(dnsperf_command(queries, seconds, protocol, port=port), capture_output=True, text=True,
                         check=True, timeout=seconds + 60).stdout
    return parse_dnsperf(out)


def run_once(process, queries, seconds, protocol, port=PORT):
    """One dnsperf run against `process`: queries/s, lost, latency and the server's CPU µs per answered query."""
    before = cpu_seconds(process.pid)
    result = dnsperf(queries, seconds, protocol, port)
    result["cpu_us"] = (cpu_seconds(process.pid) - before) * 1e6 / max(result["completed"], 1)
    return result


def measure(name, process, load, args, queries, protocol, port=PORT):
    """`args.runs` dnsperf runs of `args.seconds` against one server: medians, the range of queries/s, memory."""
    runs = [run_once(process, queries, args.seconds, protocol, port) for _ in range(args.runs)]
    qps = [r["qps"] for r in runs]
    return {"name": name, "qps": statistics.median(qps), "qps_min": min(qps), "qps_max": max(qps),
            "cpu_us": statistics.median(r["cpu_us"] for r in runs),
            "latency_ms": statistics.median(r["latency_ms"] for r in runs), "lost": sum(r["lost"] for r in runs),
            "rss": rss_mb(process.pid), "peak": memory_mb(process.pid, "VmHWM"), "load": load}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]
