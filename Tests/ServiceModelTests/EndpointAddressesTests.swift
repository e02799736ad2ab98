import ServiceModel
import Testing

/// An endpoint's addresses read as the list they were given, however they are held.
@Suite struct EndpointAddressesTests {
    static let addresses = ["127.0.2.1", "fd00::7", "127.0.2.3"].map { IPAddress($0)! }

    @Test(arguments: [0, 1, 2, 3])
    func readBackAsGiven(count: Int) {
        let given = Array(Self.addresses.prefix(count))
        let held = EndpointAddresses(given)
        #expect(held.count == count)
        #expect(Array(held) == given)
        #expect(held.first == given.first)
        #expect(held == EndpointAddresses(given))
        #expect(held.hashValue == EndpointAddresses(given).hashValue)
        let endpoint = Endpoint(addresses: given)
        #expect(Array(endpoint.addresses) == given)
    }

    @Test func oneAddressAndTwoAreNotEqual() {
        #expect(EndpointAddresses([Self.addresses[0]]) != EndpointAddresses(Array(Self.addresses.prefix(2))))
        #expect(EndpointAddresses([]) != EndpointAddresses([Self.addresses[0]]))
        let literal: EndpointAddresses = [Self.addresses[0]]
        #expect(literal == EndpointAddresses([Self.addresses[0]]))
    }
}
