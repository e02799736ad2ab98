// EndpointAddresses: the addresses of one endpoint, the one address of almost every endpoint kept inline.

/// An endpoint's addresses. Kubernetes allows up to 100, and every endpoint it makes has exactly one: held inline,
/// that one costs no heap allocation, where an array would cost one per endpoint, a million at a million endpoints.
public struct EndpointAddresses: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral {
    private enum Storage: Hashable, Sendable {
        case none
        case one(IPAddress)
        case many([IPAddress])
    }

    private let storage: Storage

    public init(_ addresses: [IPAddress]) {
        switch addresses.count {
        case 0: storage = .none
        case 1: storage = .one(addresses[0])
        default: storage = .many(addresses)
        }
    }

    public init(arrayLiteral addresses: IPAddress...) {
        self.init(addresses)
    }

    public var startIndex: Int { 0 }

    public var endIndex: Int {
        switch storage {
        case .none: 0
        case .one: 1
        case .many(let addresses): addresses.count
        }
    }

    public subscript(position: Int) -> IPAddress {
        switch storage {
        case .none: preconditionFailure("no address at \(position)")
        case .one(let address):
            precondition(position == 0, "no address at \(position)")
            return address
        case .many(let addresses): return addresses[position]
        }
    }
}
