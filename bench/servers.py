"""How each server under test is started on loopback, and svcdns's own figures from /metrics.

Knot and NSD serve the cluster's zone file with one worker each, as svcdns answers from one core.
"""
import http.client, os, time

PORT = 15300
HTTP_PORT = 18999


def reference_configs(folder, knot_port=PORT, nsd_port=PORT):
    """Configurations for Knot and NSD serving folder/cluster.local.zone on 127.0.0.1, one worker each: a list
    of (name, command, whether its threads must be pinned again after start, port)."""
    with open(os.path.join(folder, "nsd.conf"), "w") as f:
        f.write(f"""server:
    ip-address: 127.0.0.1
    port: {nsd_port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{folder}"
    zonelistfile: "{folder}/zone.list"
    xfrdfile: "{folder}/xfrd.state"
    pidfile: "{folder}/nsd.pid"
    database: ""
    rrl-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: cluster.local
    zonefile: cluster.local.zone
""")
    os.makedirs(os.path.join(folder, "knot"), exist_ok=True)
    with open(os.path.join(folder, "knot.conf"), "w") as f:
        f.write(f"""server:
    listen: 127.0.0.1@{knot_port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: "{folder}/knot"
database:
    storage: "{folder}/knot"
template:
  - id: default
    storage: "{folder}"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: cluster.local
    file: cluster.local.zone
""")
    return [("Knot", ["knotd", "-c", os.path.join(folder, "knot.conf")], True, knot_port),
            ("NSD", ["nsd", "-d", "-c", os.path.join(folder, "nsd.conf")], False, nsd_port)]


def svcdns_command(binary, zones, folder, *extra, port=PORT, http_port=HTTP_PORT):
    """svcdns serving `zones` on loopback, nothing forwarded, its store under `folder`."""
    return [binary, "serve", "--zones", zones, "--dns", f"127.0.0.1:{port}", "--http", f"127.0.0.1:{http_port}",
            "--upstream", "none", "--store", os.path.join(folder, "store"), *extra]


def http_get(path, timeout=30, port=HTTP_PORT):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def metric(text, name):
    """The sum of every sample of one metric (all label sets) in Prometheus text."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def metrics(wait=20, port=HTTP_PORT):
    """/metrics as text; svcdns's HTTP server may start a little after its first DNS answer, so this waits
    (at most `wait` s) for it. Empty when it never answers."""
    deadline = time.monotonic() + wait
    while True:
        try:
            status, body = http_get("/metrics", timeout=max(deadline - time.monotonic(), 1), port=port)
            if status == 200:
                return body.decode()
        except OSError:
            pass
        if time.monotonic() >= deadline:
            return ""
        time.sleep(0.2)


def snapshot_builds(text):
    """How many snapshots svcdns has built, and the seconds they took together."""
    count = metric(text, "svcdns_snapshot_build_duration_seconds_count")
    total = metric(text, "svcdns_snapshot_build_duration_seconds_sum")
    return count, total
