"""--mode transfer: svcdns as the primary of real secondaries, on the synthetic cluster.

svcdns serves the cluster with --transfer-to loopback and --notify for Knot, NSD and a NOTIFY listener of the
bench's own. Measured: kdig's AXFR of the cluster zone (--runs times), how long each secondary takes to hold the
zone after svcdns starts, and for --changes API writes (each after a quiet second, so each is notified on its
own): write acknowledged → NOTIFY received, and → the new record answered by each secondary (NOTIFY, then IXFR).
"""
import http.client, json, os, socket, statistics, subprocess, threading, time

from bench.cluster import Cluster, generate
from bench.load import percentile
from bench.processes import run, start, start_unpinned, stop
from bench.servers import HTTP_PORT, PORT, metrics, snapshot_builds, svcdns_command
from bench.wire import Poller, correct

KNOT_PORT, NSD_PORT, LISTENER_PORT = PORT + 1, PORT + 2, PORT + 3


def secondary_configs(folder):
    """Knot and NSD as secondaries of svcdns's cluster zone, NOTIFY from loopback, quick retries (the first
    transfer may be tried before svcdns answers)."""
    nsd_folder, knot_folder = os.path.join(folder, "nsd"), os.path.join(folder, "knot")
    os.makedirs(nsd_folder, exist_ok=True)
    os.makedirs(knot_folder, exist_ok=True)
    with open(os.path.join(nsd_folder, "nsd.conf"), "w") as f:
        f.write(f"""server:
    ip-address: 127.0.0.1
    port: {NSD_PORT}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{nsd_folder}"
    zonelistfile: "{nsd_folder}/zone.list"
    xfrdfile: "{nsd_folder}/xfrd.state"
    xfrdir: "{nsd_folder}"
    pidfile: "{nsd_folder}/nsd.pid"
    database: ""
    zonefiles-write: 0
    rrl-ratelimit: 0
    xfrd-reload-timeout: 0
    logfile: "{nsd_folder}/nsd.log"
    verbosity: 2
remote-control:
    control-enable: no
zone:
    name: cluster.local
    request-xfr: 127.0.0.1@{PORT} NOKEY
    allow-notify: 127.0.0.1 NOKEY
    min-retry-time: 1
    max-retry-time: 2
""")
    with open(os.path.join(knot_folder, "knot.conf"), "w") as f:
        f.write(f"""server:
    listen: 127.0.0.1@{KNOT_PORT}
    rundir: "{knot_folder}"
database:
    storage: "{knot_folder}"
log:
  - target: "{knot_folder}/knot.log"
    any: info
remote:
  - id: svcdns
    address: 127.0.0.1@{PORT}
acl:
  - id: notify
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "{knot_folder}"
    master: svcdns
    acl: notify
    zonefile-sync: -1
    retry-min-interval: 1
    retry-max-interval: 2
zone:
  - domain: cluster.local
""")
    return [("Knot", ["knotd", "-c", os.path.join(knot_folder, "knot.conf")], KNOT_PORT),
            ("NSD", ["nsd", "-d", "-c", os.path.join(nsd_folder, "nsd.conf")], NSD_PORT)]


class NotifyListener:
    """Answers every NOTIFY on LISTENER_PORT and keeps when each arrived (monotonic seconds)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", LISTENER_PORT))
        self.sock.settimeout(0.1)
        self.arrivals, self.running = [], True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                message, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            if len(message) >= 12 and (message[2] >> 3) & 0x0F == 4:
                self.arrivals.append(time.monotonic())
                self.sock.sendto(message[:2] + bytes([message[2] | 0x80]) + message[3:], peer)

    def first_after(self, moment, limit_s):
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            later = [t for t in self.arrivals if t >= moment]
            if later:
                return later[0]
            time.sleep(0.001)
        return None

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def soa_serial(port):
    """The cluster zone's SOA serial as the server on `port` answers it; None when it does not (yet)."""
    query = os.urandom(2) + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07cluster\x05local\x00\x00\x06\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(query, ("127.0.0.1", port))
        try:
            reply = s.recv(4096)
        except OSError:
            return None
    if reply[:2] != query[:2] or reply[3] & 0x0F != 0 or reply[6:8] == b"\x00\x00":
        return None
    # The answer's SOA ends with serial, refresh, retry, expire, minimum: the serial is 20 bytes from its end
    # (no other record follows when the server adds none; read from the end of the first answer record).
    position = len(query)
    position += 2 + 10  # the owner (a pointer) and the fixed fields
    rdlength = int.from_bytes(reply[position - 2:position], "big")
    end = position + rdlength
    return int.from_bytes(reply[end - 20:end - 16], "big")


def kdig_axfr(port):
    """One AXFR with kdig: seconds, and the records, messages and bytes it reports."""
    began = time.monotonic()
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "AXFR", "cluster.local", "+noall", "+stats"],
                         capture_output=True, text=True, timeout=600).stdout
    took = time.monotonic() - began
    stats = next((line for line in out.splitlines() if "Received" in line and "records" in line), "")
    return took, stats.strip(";; ").strip()


def mode_transfer(args, binary, folder):
    cluster = Cluster(args.services, args.headless, args.endpoints)
    zones = generate(folder, cluster, args.format, zone_file=False)
    listener = NotifyListener()
    secondaries = []
    for name, command, port in secondary_configs(folder):
        secondaries.append((name, start_unpinned(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port))
    flags = ["--log-level", "error", "--transfer-to", "127.0.0.0/8", "--no-loop-probe"]
    for _, _, port in secondaries:
        flags += ["--notify", f"127.0.0.1:{port}"]
    flags += ["--notify", f"127.0.0.1:{LISTENER_PORT}"]
    started = time.monotonic()
    process, load = start("svcdns", svcdns_command(binary, zones, folder, *flags), lambda: correct(PORT),
                          timeout=args.start_timeout, log=os.path.join(folder, "svcdns.log"),
                          ready=lambda: correct(PORT))
    try:
        serial = soa_serial(PORT)
        first, deadline = {}, time.monotonic() + args.change_timeout * 4
        while len(first) < len(secondaries) and time.monotonic() < deadline:
            for name, _, port in secondaries:
                if name not in first and (soa_serial(port) or 0) >= serial:
                    first[name] = time.monotonic() - started - load
            time.sleep(0.005)
        if len(first) < len(secondaries):
            raise SystemExit(f"bench: a secondary did not transfer serial {serial}: {first}")
        axfrs = [kdig_axfr(PORT) for _ in range(args.runs)]
        # The cluster's endpoints are probed and found down in the first seconds: each verdict is a build, and a
        # change published within a second of the last recording waits for that second. Changes start once no
        # build has come for 3 s, so each is timed on its own.
        quiet_since, builds = time.monotonic(), snapshot_builds(metrics())[0]
        deadline = time.monotonic() + 120
        while time.monotonic() - quiet_since < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            now = snapshot_builds(metrics())[0]
            if now != builds:
                quiet_since, builds = time.monotonic(), now

        pollers = {name: Poller(port) for name, _, port in secondaries}
        connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=30)
        samples = {"NOTIFY received": [], **{f"served by {name}": [] for name, _, _ in secondaries}}
        for i in range(args.changes):
            time.sleep(1.1)  # a quiet second since the last change: it is recorded and notified on its own
            name, ip = f"xfr-{i}", f"10.112.{i >> 8}.{i & 255}"
            body = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns-0"},
                               "spec": {"clusterIP": ip, "ports": [{"name": "http", "port": 80}]}})
            connection.request("PUT", f"/api/v1/namespaces/ns-0/services/{name}", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            acknowledged = time.monotonic()
            if response.status not in (200, 201):
                raise SystemExit(f"bench: PUT {name} answered {response.status}")
            notified = listener.first_after(acknowledged - 0.001, args.change_timeout)
            if notified is None:
                raise SystemExit(f"bench: no NOTIFY within {args.change_timeout} s of {name}")
            samples["NOTIFY received"].append(notified - acknowledged)
            # Every secondary is asked in turn, so each one's time is its own, not the slower one's before it.
            waiting, deadline = dict(pollers), acknowledged + args.change_timeout
            while waiting and time.monotonic() < deadline:
                for secondary, poller in list(waiting.items()):
                    if poller.ask(f"{name}.ns-0.svc.cluster.local", ip):
                        samples[f"served by {secondary}"].append(time.monotonic() - acknowledged)
                        del waiting[secondary]
            if waiting:
                raise SystemExit(f"bench: {', '.join(waiting)} did not serve {name} within {args.change_timeout} s")
        connection.close()
        for poller in pollers.values():
            poller.close()
    finally:
        listener.close()
        stop(process)
        for _, secondary, _ in secondaries:
            stop(secondary)

    print(f"\nZone transfers: {cluster.description}; svcdns (release) loaded in {load:.2f} s")
    took = sorted(t for t, _ in axfrs)
    print(f"  kdig AXFR of cluster.local: median {statistics.median(took) * 1000:.0f} ms over {len(took)} runs "
          f"({axfrs[0][1]})")
    for name, seconds in first.items():
        print(f"  {name} holds the zone {seconds * 1000:.0f} ms after svcdns first answered (first AXFR, after the NOTIFY "
              f"svcdns sends at start; 0: already when first asked)")
    print(f"  {'API write acknowledged → (ms)':36} {'p50':>8} {'p90':>8} {'max':>8} {'count':>6}")
    for label, values in samples.items():
        ms = [v * 1000 for v in values]
        print(f"  {label:36} {statistics.median(ms):>8.1f} {percentile(ms, 90):>8.1f} {max(ms):>8.1f} {len(ms):>6}")
