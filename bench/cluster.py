"""The synthetic cluster every mode serves, written three ways from one description.

N ClusterIP Services over 10 namespaces plus H headless Services with E endpoints each (hostnames `pod-<e>`,
a named port `http`), as Kubernetes manifests for svcdns (YAML documents or one JSON List), as one RFC 1035
zone file with the same records for Knot and NSD, and as one dnsperf query file: 70% A hits, 15% SRV and
15% NXDOMAIN search-path misses.
"""
import os

# The port of the health-checked endpoints (bench/listeners.c accepts on it); unprobed clusters name 8080.
PROBE_PORT = 18080


class Cluster:
    """A synthetic cluster: `services` ClusterIP Services over 10 namespaces and `headless` headless Services
    with `endpoints` endpoints each (split into EndpointSlices of at most 100 endpoints, as Kubernetes does)."""

    def __init__(self, services, headless=100, endpoints=10, probed=False, address=None):
        self.services, self.headless, self.endpoints, self.probed = services, headless, endpoints, probed
        self.address = address or self.default_address

    @property
    def label(self):
        def short(n):
            return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
                f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))
        return f"{short(self.services)}+{self.headless}x{short(self.endpoints)}"

    @property
    def description(self):
        return (f"{self.services:,} ClusterIP Services + {self.headless:,} headless x {self.endpoints:,} endpoints"
                + (" (probed)" if self.probed else ""))

    def default_address(self, h, e):
        if self.endpoints <= 254:
            return f"127.{100 + h // 200}.{h % 200}.{e + 1}"
        index = h * self.endpoints + e  # up to 16M distinct addresses in 127.1.0.0 - 127.255.255.255
        return f"127.{1 + index // 65536}.{(index // 256) % 256}.{index % 256}"


# svcdns reads at most 64 MiB from one file in zones/; the large cluster is split well below that.
FILE_BYTES = 32 << 20


def chunks(objects):
    """The objects in groups of at most FILE_BYTES of text each, in order."""
    group, size = [], 0
    for text in objects:
        if group and size + len(text) > FILE_BYTES:
            yield group
            group, size = [], 0
        group.append(text)
        size += len(text) + 1
    if group:
        yield group


def service_ip(n):
    return f"10.{96 + (n >> 16) % 16}.{(n >> 8) & 255}.{n & 255}"


def generate(folder, cluster, form="yaml", zone_file=True):
    """Manifests for svcdns (in `form`: YAML documents, or one JSON List) and the same records as a zone file
    for the reference servers, and the dnsperf query file. Returns the zones folder."""
    zones = os.path.join(folder, "zones")
    os.makedirs(zones)
    services, slices, records, queries = [], [], [], []
    for n in range(cluster.services):
        ns, name, ip = f"ns-{n % 10}", f"svc-{n}", service_ip(n)
        services.append((name, ns, ip, None))
        fqdn = f"{name}.{ns}.svc.cluster.local."
        if zone_file:
            records += [f"{fqdn} 5 IN A {ip}", f"_http._tcp.{fqdn} 5 IN SRV 0 100 80 {fqdn}"]
        queries += [f"{fqdn} A"] * 6 + [f"_http._tcp.{fqdn} SRV", f"{fqdn}{ns}.svc.cluster.local. A"]
    weight = max(100 // cluster.endpoints, 1)
    for h in range(cluster.headless):
        ns, name = f"ns-{h % 10}", f"headless-{h}"
        fqdn = f"{name}.{ns}.svc.cluster.local."
        services.append((name, ns, "None", None if cluster.probed else "none"))
        for first in range(0, cluster.endpoints, 100):
            endpoints = []
            for e in range(first, min(first + 100, cluster.endpoints)):
                address = cluster.address(h, e)
                endpoints.append((address, f"pod-{e}"))
                if zone_file:
                    host = f"pod-{e}.{fqdn}"
                    records += [f"{fqdn} 5 IN A {address}", f"{host} 5 IN A {address}",
                                f"_http._tcp.{fqdn} 5 IN SRV 0 {weight} 8080 {host}"]
            slices.append((f"{name}-{first // 100 + 1}", ns, name, endpoints))
        queries += [f"{fqdn} A"] * 2 + [f"pod-{h % cluster.endpoints}.{fqdn} A", f"_http._tcp.{fqdn} SRV"]
    port = PROBE_PORT if cluster.probed else 8080
    if form == "json":
        items = []
        for name, ns, ip, check in services:
            annotations = f',"annotations":{{"svcdns.io/health-check":"{check}"}}' if check else ""
            items.append(f'{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{name}","namespace":"{ns}"{annotations}}},'
                         f'"spec":{{"clusterIP":"{ip}","ports":[{{"name":"http","port":80}}]}}}}')
        for name, ns, service, endpoints in slices:
            listed = ",".join(f'{{"addresses":["{a}"],"hostname":"{p}"}}' for a, p in endpoints)
            items.append(f'{{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{{"name":"{name}",'
                         f'"namespace":"{ns}","labels":{{"kubernetes.io/service-name":"{service}"}}}},"addressType":"IPv4",'
                         f'"endpoints":[{listed}],"ports":[{{"name":"http","port":{port}}}]}}')
        for index, chunk in enumerate(chunks(items)):
            with open(os.path.join(zones, f"cluster-{index:03}.json"), "w") as f:
                f.write('{"apiVersion":"v1","kind":"List","items":[\n' + ",\n".join(chunk) + "\n]}\n")
    else:
        docs = []
        for name, ns, ip, check in services:
            annotations = f", annotations: {{svcdns.io/health-check: {check}}}" if check else ""
            docs.append(f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}{annotations}}}\n"
                        f"spec: {{clusterIP: {ip}, ports: [{{name: http, port: 80}}]}}")
        for name, ns, service, endpoints in slices:
            listed = "\n".join(f"  - {{addresses: [{a}], hostname: {p}}}" for a, p in endpoints)
            docs.append(f"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: {name}, namespace: {ns}, "
                        f"labels: {{kubernetes.io/service-name: {service}}}}}\naddressType: IPv4\nendpoints:\n{listed}\n"
                        f"ports: [{{name: http, port: {port}}}]")
        for index, chunk in enumerate(chunks(docs)):
            with open(os.path.join(zones, f"cluster-{index:03}.yaml"), "w") as f:
                f.write("\n---\n".join(chunk) + "\n")
    if zone_file:
        with open(os.path.join(folder, "cluster.local.zone"), "w") as f:
            f.write("$ORIGIN cluster.local.\n$TTL 5\n"
                    "@ 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5\n"
                    "@ 5 IN NS ns.dns.cluster.local.\n" + "\n".join(records) + "\n")
    with open(os.path.join(folder, "queries.txt"), "w") as f:
        f.write("\n".join(queries) + "\n")
    return zones
