// Catalog: objects by key, and the join of EndpointSlices to their Service by label.

import ServiceModel
import Testing

struct CatalogTests {
    private func slice(_ namespace: String, _ name: String, service: String?) -> ManifestObject {
        .endpointSlice(
            EndpointSlice(
                key: ObjectKey(namespace: namespace, name: name),
                serviceName: service,
                addressType: .ipv4,
                endpoints: [Endpoint(addresses: [.v4(0x7F00_0001)])]
            )
        )
    }

    @Test func findsSlicesOfAServiceByLabelInItsNamespaceSortedByName() {
        var catalog = Catalog()
        catalog.insert(slice("default", "web-zzz", service: "web"))
        catalog.insert(slice("default", "web-aaa", service: "web"))
        catalog.insert(slice("default", "api-1", service: "api"))
        catalog.insert(slice("other", "web-bbb", service: "web"))
        catalog.insert(slice("default", "orphan", service: nil))

        let web = ObjectKey(namespace: "default", name: "web")
        #expect(catalog.endpointSlices(of: web).map(\.key.name) == ["web-aaa", "web-zzz"])
        #expect(catalog.endpointSlices(of: ObjectKey(namespace: "other", name: "web")).map(\.key.name) == ["web-bbb"])
        #expect(catalog.endpointSlices(of: ObjectKey(namespace: "default", name: "nope")).isEmpty)
        #expect(catalog.counts == (services: 0, endpointSlices: 5, endpoints: 0))
    }

    @Test func replacingASliceMovesItToItsNewService() {
        var catalog = Catalog()
        catalog.insert(slice("default", "s1", service: "web"))
        catalog.insert(slice("default", "s1", service: "api"))
        #expect(catalog.endpointSlices(of: ObjectKey(namespace: "default", name: "web")).isEmpty)
        #expect(catalog.endpointSlices(of: ObjectKey(namespace: "default", name: "api")).map(\.key.name) == ["s1"])
        #expect(catalog.counts.endpointSlices == 1)

        catalog.remove(slice("default", "s1", service: nil))
        #expect(catalog.endpointSlices(of: ObjectKey(namespace: "default", name: "api")).isEmpty)
        #expect(catalog == Catalog())
    }

    @Test func settingTheSliceDictionaryKeepsTheJoinInStep() {
        var catalog = Catalog()
        catalog.insert(slice("default", "s1", service: "web"))
        catalog.endpointSlices[ObjectKey(namespace: "default", name: "s1")] = nil
        #expect(catalog.endpointSlices(of: ObjectKey(namespace: "default", name: "web")).isEmpty)
        catalog.endpointSlices[ObjectKey(namespace: "default", name: "s2")] =
            EndpointSlice(key: ObjectKey(namespace: "default", name: "s2"), serviceName: "web", addressType: .ipv6)
        #expect(catalog.endpointSlices(of: ObjectKey(namespace: "default", name: "web")).map(\.key.name) == ["s2"])
    }

    @Test func insertsEachKindUnderItsKey() {
        var catalog = Catalog()
        let key = ObjectKey(namespace: "default", name: "web")
        catalog.insert(.service(Service(key: key, clusterIPs: [.v4(0x0A60_0001)])))
        catalog.insert(.endpoints(Endpoints(key: key)))
        catalog.insert(.service(Service(key: key, isHeadless: true)))
        #expect(catalog.services[key]?.isHeadless == true)
        #expect(catalog.endpoints[key] == Endpoints(key: key))
        #expect(catalog.counts == (services: 1, endpointSlices: 0, endpoints: 1))
        #expect(key.description == "default/web")
        #expect(ObjectKey(namespace: "a", name: "z") < ObjectKey(namespace: "b", name: "a"))
    }
}
