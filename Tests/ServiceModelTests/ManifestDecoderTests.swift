// ManifestDecoder on well-formed input: kubectl's List output, JSON, several documents, and kinds it skips.

import ServiceModel
import Testing

struct ManifestDecoderTests {
    /// Trimmed from `kubectl get svc,endpointslices,endpoints -n shop -o yaml`, server-side fields left in.
    static let kubectlList = """
        apiVersion: v1
        items:
        - apiVersion: v1
          kind: Service
          metadata:
            annotations:
              kubectl.kubernetes.io/last-applied-configuration: |
                {"apiVersion":"v1","kind":"Service"}
              svcdns.io/probe: tcp
            creationTimestamp: "2024-05-01T10:00:00Z"
            labels:
              app: web
              replicas: 3
            name: web
            namespace: shop
            resourceVersion: "1234"
            uid: 0b7c5a3e-1111-2222-3333-444455556666
          spec:
            clusterIP: 10.96.12.34
            clusterIPs:
            - 10.96.12.34
            internalTrafficPolicy: Cluster
            ipFamilies:
            - IPv4
            ipFamilyPolicy: SingleStack
            ports:
            - name: http
              port: 80
              protocol: TCP
              targetPort: http-web
            - name: metrics
              port: "9090"
              targetPort: 9090
            selector:
              app: web
            sessionAffinity: None
            type: ClusterIP
          status:
            loadBalancer: {}
        - apiVersion: v1
          kind: Service
          metadata:
            name: db
            namespace: shop
          spec:
            clusterIP: None
            clusterIPs:
            - None
            ipFamilies: [IPv4]
            ports:
            - name: pg
              port: 5432
              targetPort: 5432
            publishNotReadyAddresses: true
        - addressType: IPv4
          apiVersion: discovery.k8s.io/v1
          endpoints:
          - addresses:
            - 127.0.0.11
            conditions:
              ready: true
              serving: true
              terminating: false
            hostname: on
            nodeName: node-a
            targetRef:
              kind: Pod
              name: db-0
              namespace: shop
            zone: zone-1
          - addresses:
            - 127.0.0.12
            conditions:
              ready: false
            hostname: "no"
          - addresses:
            - 127.0.0.13
            hostname: y
          kind: EndpointSlice
          metadata:
            generateName: db-
            labels:
              endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
              kubernetes.io/service-name: db
            name: db-x7k2p
            namespace: shop
            ownerReferences:
            - apiVersion: v1
              kind: Service
              name: db
          ports:
          - name: pg
            port: 5432
            protocol: TCP
        - apiVersion: v1
          kind: Endpoints
          metadata:
            name: db
            namespace: shop
          subsets:
          - addresses:
            - hostname: db-0
              ip: 127.0.0.11
              nodeName: node-a
            notReadyAddresses:
            - ip: 127.0.0.12
            ports:
            - name: pg
              port: 5432
              protocol: TCP
        kind: List
        metadata:
          resourceVersion: ""
        """

    @Test func decodesKubectlListOutput() throws {
        let result = ManifestDecoder.decode(Self.kubectlList, file: "shop.yaml")
        #expect(result.problems.map(\.description) == [])
        #expect(result.warnings.isEmpty)
        #expect(
            result.objects.map { "\($0.kind) \($0.key)" } == [
                "Service shop/web", "Service shop/db", "EndpointSlice shop/db-x7k2p", "Endpoints shop/db",
            ]
        )

        guard case .service(let web) = result.objects[0] else { Issue.record("not a Service"); return }
        #expect(web.type == .clusterIP)
        #expect(web.clusterIPs == [IPAddress("10.96.12.34")!])
        #expect(!web.isHeadless)
        #expect(
            web.ports == [
                ServicePort(name: "http", port: 80, protocol: .tcp, targetPort: .name("http-web")),
                ServicePort(name: "metrics", port: 9090, protocol: .tcp, targetPort: .number(9090)),
            ]
        )
        #expect(web.labels == ["app": "web", "replicas": "3"])
        #expect(web.annotations["svcdns.io/probe"] == "tcp")
        #expect(
            web.annotations["kubectl.kubernetes.io/last-applied-configuration"]
                == "{\"apiVersion\":\"v1\",\"kind\":\"Service\"}\n"
        )
        #expect(!web.publishNotReadyAddresses)

        guard case .service(let db) = result.objects[1] else { Issue.record("not a Service"); return }
        #expect(db.isHeadless)
        #expect(db.clusterIPs.isEmpty)
        #expect(db.publishNotReadyAddresses)

        guard case .endpointSlice(let slice) = result.objects[2] else { Issue.record("not a slice"); return }
        #expect(slice.serviceName == "db")
        #expect(slice.addressType == .ipv4)
        #expect(slice.ports == [EndpointPort(name: "pg", port: 5432, protocol: .tcp)])
        // YAML 1.1 would read these hostnames as booleans; Kubernetes (and svcdns) read them as text.
        #expect(
            slice.endpoints == [
                Endpoint(
                    addresses: [IPAddress("127.0.0.11")!],
                    hostname: "on",
                    ready: true,
                    serving: true,
                    terminating: false,
                    nodeName: "node-a",
                    zone: "zone-1",
                    podName: "db-0"
                ),
                Endpoint(addresses: [IPAddress("127.0.0.12")!], hostname: "no", ready: false),
                Endpoint(addresses: [IPAddress("127.0.0.13")!], hostname: "y", ready: true),
            ]
        )

        guard case .endpoints(let endpoints) = result.objects[3] else { Issue.record("not Endpoints"); return }
        #expect(
            endpoints.subsets == [
                EndpointSubset(
                    addresses: [EndpointAddress(ip: IPAddress("127.0.0.11")!, hostname: "db-0", nodeName: "node-a")],
                    notReadyAddresses: [EndpointAddress(ip: IPAddress("127.0.0.12")!)],
                    ports: [EndpointPort(name: "pg", port: 5432, protocol: .tcp)]
                )
            ]
        )
    }

    @Test func decodesJSON() throws {
        let json = """
            {
              "apiVersion": "v1",
              "kind": "List",
              "items": [
                {
                  "apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": "dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
                  "spec": {
                    "type": "NodePort",
                    "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10", "fd00::a"], "ipFamilies": ["IPv4", "IPv6"],
                    "ports": [
                      {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53, "nodePort": 30053},
                      {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}
                    ],
                    "publishNotReadyAddresses": false
                  }
                },
                {
                  "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": {"name": "dns-v6.a", "namespace": "kube-system",
                               "labels": {"kubernetes.io/service-name": "dns"}},
                  "addressType": "IPv6",
                  "endpoints": [{"addresses": ["::1"], "conditions": {"ready": null}, "hostname": "true"}],
                  "ports": [{"name": "", "port": 53, "protocol": "UDP"}]
                }
              ]
            }
            """
        let result = ManifestDecoder.decode(json, file: "dns.json")
        #expect(result.problems.map(\.description) == [])
        #expect(
            result.objects == [
                .service(
                    Service(
                        key: ObjectKey(namespace: "kube-system", name: "dns"),
                        type: .nodePort,
                        clusterIPs: [IPAddress("10.96.0.10")!, IPAddress("fd00::a")!],
                        ports: [
                            ServicePort(name: "dns", port: 53, protocol: .udp, targetPort: .number(53)),
                            ServicePort(name: "dns-tcp", port: 53, protocol: .tcp, targetPort: .number(53)),
                        ],
                        labels: ["k8s-app": "kube-dns"]
                    )
                ),
                .endpointSlice(
                    EndpointSlice(
                        key: ObjectKey(namespace: "kube-system", name: "dns-v6.a"),
                        serviceName: "dns",
                        addressType: .ipv6,
                        endpoints: [Endpoint(addresses: [.v6(0, 1)], hostname: "true", ready: true)],
                        ports: [EndpointPort(name: nil, port: 53, protocol: .udp)],
                        labels: ["kubernetes.io/service-name": "dns"]
                    )
                ),
            ]
        )
    }

    @Test func decodesMultipleDocumentsSkippingEmptyOnes() {
        let yaml = """
            ---
            # nothing in this one
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: ext}
            spec:
              type: ExternalName
              externalName: DB.Example.COM.
            ---
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: plain}
            spec: {clusterIP: 10.96.0.2}
            ...
            """
        let result = ManifestDecoder.decode(yaml, file: "multi.yaml")
        #expect(result.problems.map(\.description) == [])
        #expect(
            result.objects == [
                .service(
                    Service(
                        key: ObjectKey(namespace: "default", name: "ext"),
                        type: .externalName,
                        externalName: "db.example.com"
                    )
                ),
                .service(Service(key: ObjectKey(namespace: "default", name: "plain"), clusterIPs: [.v4(0x0A60_0002)])),
            ]
        )
    }

    @Test func emptyFileHasNothing() {
        let result = ManifestDecoder.decode("", file: "empty.yaml")
        #expect(result.objects.isEmpty && result.problems.isEmpty && result.warnings.isEmpty)
    }

    @Test func typedListItemsMayLeaveOutKindAndAPIVersion() {
        let yaml = """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSliceList
            items:
            - metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
              addressType: FQDN
              endpoints:
              - addresses: [db.example.com]
            """
        let result = ManifestDecoder.decode(yaml, file: "slices.yaml")
        #expect(result.problems.map(\.description) == [])
        #expect(
            result.objects == [
                .endpointSlice(
                    EndpointSlice(
                        key: ObjectKey(namespace: "default", name: "web-1"),
                        serviceName: "web",
                        addressType: .fqdn,
                        endpoints: [Endpoint(addresses: [])],
                        labels: ["kubernetes.io/service-name": "web"]
                    )
                )
            ]
        )
    }

    @Test func otherKindsAreSkippedWithAWarning() {
        let yaml = """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: apps/v1
              kind: Deployment
              metadata: {name: web, namespace: shop}
            - apiVersion: v1
              kind: Namespace
              metadata: {name: shop}
            - apiVersion: serving.knative.dev/v1
              kind: Service
              metadata: {name: hello}
            - apiVersion: v1
              kind: ConfigMap
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: shop}
            spec: {clusterIP: 10.96.0.3}
            """
        let result = ManifestDecoder.decode(yaml, file: "all.yaml")
        #expect(result.problems.isEmpty)
        #expect(result.objects.map(\.key) == [ObjectKey(namespace: "shop", name: "web")])
        #expect(
            result.warnings.map(\.description) == [
                "all.yaml: Deployment shop/web: kind: not served by svcdns, skipped",
                "all.yaml: Namespace shop: kind: not served by svcdns, skipped",
                "all.yaml: Service hello: kind: not served by svcdns, skipped",
                "all.yaml: ConfigMap items[3]: kind: not served by svcdns, skipped",
            ]
        )
    }

    @Test func aBadObjectDoesNotKeepOutTheGoodOnes() {
        let yaml = """
            apiVersion: v1
            kind: Service
            metadata: {name: good}
            spec: {clusterIP: 10.96.0.4}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: bad}
            spec: {clusterIP: 10.96.0.400}
            """
        let result = ManifestDecoder.decode(yaml, file: "mixed.yaml")
        #expect(result.objects.map(\.key.name) == ["good"])
        #expect(
            result.problems.map(\.description) == [
                "mixed.yaml: Service default/bad: spec.clusterIP: \"10.96.0.400\" is not an IP address"
            ]
        )
    }
}
