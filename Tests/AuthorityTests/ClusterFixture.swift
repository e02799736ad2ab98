import Authority
import SvcDNSTesting

/// One cluster that exercises every row of the schema (shared/k8s-dns-schema.md).
enum ClusterFixture {
    static let manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default}
        spec:
          clusterIP: 10.96.0.10
          ports:
            - {name: http, port: 80, targetPort: http, protocol: TCP}
            - {name: dns, port: 53, protocol: UDP}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: single, namespace: default}
        spec:
          clusterIP: 10.96.0.11
          ports:
            - {port: 8080}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: dual, namespace: default}
        spec:
          clusterIP: 10.96.0.20
          clusterIPs: [10.96.0.20, "fd00:10:96::20"]
          ipFamilies: [IPv4, IPv6]
          ports:
            - {name: http, port: 80}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: db, namespace: data}
        spec:
          clusterIP: None
          ports:
            - {name: postgres, port: 5432}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: db-v4
          namespace: data
          labels: {kubernetes.io/service-name: db}
        addressType: IPv4
        endpoints:
          - {addresses: [127.0.2.1], hostname: db-0, conditions: {ready: true}}
          - {addresses: [127.0.2.2], hostname: db-1}
          - {addresses: [127.0.2.3], hostname: db-2, conditions: {ready: false}}
          - {addresses: [127.0.2.4], conditions: {ready: true}}
        ports:
          - {name: postgres, port: 5432, protocol: TCP}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: db-v6
          namespace: data
          labels: {kubernetes.io/service-name: db}
        addressType: IPv6
        endpoints:
          - {addresses: ["::1"]}
        ports:
          - {name: postgres, port: 5432, protocol: TCP}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cache, namespace: data}
        spec:
          clusterIP: None
          ports:
            - {name: redis, port: 6379, targetPort: redis}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: cache-a
          namespace: data
          labels: {kubernetes.io/service-name: cache}
        addressType: IPv4
        endpoints:
          - {addresses: [127.0.4.1], hostname: cache-a}
        ports:
          - {name: redis, port: 6379}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: cache-b
          namespace: data
          labels: {kubernetes.io/service-name: cache}
        addressType: IPv4
        endpoints:
          - {addresses: [127.0.4.2], hostname: cache-b}
        ports:
          - {name: redis, port: 6380}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: peers, namespace: data}
        spec:
          clusterIP: None
          publishNotReadyAddresses: true
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: peers-1
          namespace: data
          labels: {kubernetes.io/service-name: peers}
        addressType: IPv4
        endpoints:
          - {addresses: [127.0.5.1], conditions: {ready: false}}
          - {addresses: [127.0.5.2], conditions: {ready: true}}
        ---
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Service
            metadata: {name: old, namespace: legacy}
            spec: {clusterIP: None}
          - apiVersion: v1
            kind: Endpoints
            metadata: {name: old, namespace: legacy}
            subsets:
              - addresses: [{ip: 127.0.6.1, hostname: old-0}]
                notReadyAddresses: [{ip: 127.0.6.2, hostname: old-1}]
                ports: [{name: http, port: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: search, namespace: default}
        spec: {type: ExternalName, externalName: search.corp.example}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ext, namespace: default}
        spec: {type: ExternalName, externalName: www.example.org.}
        """

    static let corpZone = """
        $ORIGIN corp.example.
        $TTL 300
        @       IN SOA ns1 hostmaster 7 3600 600 604800 60
                IN NS  ns1
                IN MX  10 mail
        ns1     IN A   127.0.0.53
        mail    IN A   127.0.3.25
        search  IN A   127.0.3.10
                IN A   127.0.3.11
        www     IN CNAME web.default.svc.cluster.local.
        loop1   IN CNAME loop2
        loop2   IN CNAME loop1
        _ldap._tcp IN SRV 0 100 389 ldap
        ldap    IN A   127.0.3.89
        *.dev   IN A   127.0.3.99
        lab     IN NS  ns.lab
        ns.lab  IN A   127.0.3.53
        """

    static func snapshot() throws -> Snapshot {
        try TestZone.snapshot(manifests: manifests, zoneFiles: ["corp.example": corpZone], nameServers: ["127.0.0.53"])
    }

    static let soa = TestZone.negativeSOA()
    static let reverseV4SOA = "in-addr.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2026 7200 1800 86400 5"
    static let reverseV6SOA = "ip6.arpa. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2026 7200 1800 86400 5"
    static let corpSOA = "corp.example. 60 IN SOA ns1.corp.example. hostmaster.corp.example. 7 3600 600 604800 60"
}
