import Testing

@testable import ServiceModel

/// A hundred thousand Services and a million endpoints are held as values in several places at once, so their
/// size is the catalog's memory: the fields most objects leave empty are boxed, and read and compare as fields.
@Suite struct ObjectSizeTests {
    @Test func servicesAndEndpointsStaySmall() {
        #expect(MemoryLayout<Service>.stride <= 80)
        #expect(MemoryLayout<Endpoint>.stride <= 56)
    }

    @Test func boxedServiceFieldsReadWriteAndCompareAsFields() {
        let key = ObjectKey(namespace: "prod", name: "web")
        var service = Service(key: key)
        #expect(service.externalName == nil && service.annotations.isEmpty && service.labels.isEmpty)
        #expect(service.healthCheck == HealthCheckOverrides())
        var copy = service
        service.externalName = "example.com"
        service.annotations["svcdns.io/health-check"] = "tcp"
        service.labels["app"] = "web"
        service.healthCheck.path = "/healthz"
        #expect(service.externalName == "example.com")
        #expect(service.annotations == ["svcdns.io/health-check": "tcp"])
        #expect(service.labels == ["app": "web"])
        #expect(service.healthCheck.path == "/healthz")
        #expect(copy != service, "a copy keeps its own fields")
        #expect(copy.externalName == nil)

        copy.healthCheck.path = "/healthz"
        copy.labels = ["app": "web"]
        copy.annotations = ["svcdns.io/health-check": "tcp"]
        copy.externalName = "example.com"
        #expect(copy == service && copy.hashValue == service.hashValue, "equal fields, different boxes")
        copy.externalName = nil
        copy.annotations = [:]
        copy.labels = [:]
        copy.healthCheck = HealthCheckOverrides()
        #expect(copy == Service(key: key), "emptied fields equal fields never set")
    }

    @Test func boxedEndpointFieldsReadWriteAndCompareAsFields() {
        var endpoint = Endpoint(addresses: [IPAddress("127.0.0.1")!], hostname: "pod-1")
        #expect(endpoint.nodeName == nil && endpoint.zone == nil)
        var copy = endpoint
        endpoint.nodeName = "node-a"
        endpoint.zone = "zone-1"
        #expect(endpoint.nodeName == "node-a" && endpoint.zone == "zone-1")
        #expect(copy != endpoint && copy.nodeName == nil)
        copy.zone = "zone-1"
        copy.nodeName = "node-a"
        #expect(copy == endpoint && copy.hashValue == endpoint.hashValue)
        #expect(Endpoint(addresses: [IPAddress("127.0.0.1")!], hostname: "pod-1", nodeName: "node-a", zone: "zone-1") == endpoint)
    }
}
