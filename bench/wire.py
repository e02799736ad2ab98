"""The few DNS packets the benchmarks build and read themselves: readiness checks and change pollers.

dnsperf sends the load; these only ask whether a server is up and answers what it should.
"""
import os, socket, struct, time


def dns_query(name, qtype=1):
    """A query without EDNS, with a random ID."""
    query = os.urandom(2) + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.rstrip(".").split("."):
        query += bytes([len(label)]) + label.encode()
    return query + b"\x00" + struct.pack(">HH", qtype, 1)


def answer_addresses(reply):
    """The A records of the answer section of a reply (names compressed or not), as dotted text."""
    count = struct.unpack(">H", reply[6:8])[0]
    position = 12
    while reply[position] != 0:  # the question's name (never compressed in a reply to our query)
        position += reply[position] + 1
    position += 5
    found = []
    for _ in range(count):
        while True:
            length = reply[position]
            if length >= 0xC0:
                position += 2
                break
            position += length + 1
            if length == 0:
                break
        rtype, _, _, rdlength = struct.unpack(">HHIH", reply[position:position + 10])
        position += 10
        if rtype == 1 and rdlength == 4:
            found.append(".".join(str(b) for b in reply[position:position + 4]))
        position += rdlength
    return found


def answers(port, name="svc-1.ns-1.svc.cluster.local", timeout=0.2, any_reply=False, expect=None):
    """Whether the server on 127.0.0.1:`port` answers `name` with NOERROR and records (with `expect` among
    its addresses, when given); with `any_reply`, whether it sends anything back at all (the floor echoes)."""
    query = dns_query(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query, ("127.0.0.1", port))
        try:
            reply = s.recv(4096)
        except OSError:
            return False
    if any_reply:
        return len(reply) >= 12 and reply[:2] == query[:2]
    ok = len(reply) > 12 and reply[:2] == query[:2] and reply[3] & 0x0F == 0 and reply[6:8] != b"\x00\x00"
    if ok and expect is not None:
        return expect in answer_addresses(reply)
    return ok


def correct(port):
    """The synthetic cluster's ClusterIP Service and headless endpoint name both answer."""
    return answers(port, "svc-1.ns-1.svc.cluster.local") and answers(port, "pod-1.headless-1.ns-1.svc.cluster.local")


class Poller:
    """A raw UDP socket asking one name again and again until an A record with the expected address comes."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(("127.0.0.1", port))
        self.queries = 0

    def wait_for(self, name, address, limit_s):
        """Seconds (monotonic) when `address` was first answered, or None after `limit_s`."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.ask(name, address):
                return time.monotonic()
        return None

    def ask(self, name, address):
        """One query (waiting at most 50 ms for its reply): whether `address` is in the answer."""
        query = dns_query(name)
        self.sock.send(query)
        self.queries += 1
        self.sock.settimeout(0.05)
        try:
            while True:
                reply = self.sock.recv(4096)
                if reply[:2] == query[:2]:
                    break
        except OSError:
            return False
        return reply[3] & 0x0F == 0 and address in answer_addresses(reply)

    def close(self):
        self.sock.close()
