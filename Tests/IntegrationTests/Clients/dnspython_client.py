#!/usr/bin/env python3
"""One lookup through dnspython's stub resolver, for ClientLibraryTests.

usage: dnspython_client.py PORT TYPE NAME      (TYPE is A or SRV)

Asks 127.0.0.1:PORT only (configure=False: /etc/resolv.conf is never read), over UDP; dnspython retries over
TCP by itself when the answer comes back truncated. Prints one record a line, sorted: an address for A,
"PRIORITY WEIGHT PORT TARGET" for SRV. Any failure goes to stderr with exit status 1.
"""
import sys

import dns.resolver


def main() -> int:
    port, rdtype, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    resolver.timeout = 2
    resolver.lifetime = 5
    resolver.cache = None
    try:
        answer = resolver.resolve(dns.name.from_text(name), rdtype, search=False, raise_on_no_answer=True)
    except Exception as error:  # noqa: BLE001 - the test wants the reason, whatever it is
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if rdtype == "SRV":
        lines = [f"{r.priority} {r.weight} {r.port} {r.target.to_text()}" for r in answer]
    else:
        lines = [r.to_text() for r in answer]
    print("\n".join(sorted(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
