import NIOCore
import ServiceModel
import Testing

@testable import Server

/// Who counts as which address for `--allow-recursion`, read straight from the socket address.
@Suite struct RecursionAccessTests {
    @Test(arguments: [
        ("127.0.0.1", IPAddress("127.0.0.1")!), ("10.1.2.3", IPAddress("10.1.2.3")!), ("::1", IPAddress("::1")!),
        ("fd00::5", IPAddress("fd00::5")!), ("::ffff:192.168.1.9", IPAddress("192.168.1.9")!),
    ])
    func addressesReadFromSockets(text: String, expected: IPAddress) throws {
        let socket = try SocketAddress(ipAddress: text, port: 53)
        #expect(ForwardingPolicy.address(socket) == expected)
    }

    /// The UDP workers read the sender straight from the kernel's `sockaddr`, with no NIO address built.
    @Test(arguments: [
        ("127.0.0.1", IPAddress("127.0.0.1")!), ("10.1.2.3", IPAddress("10.1.2.3")!), ("::1", IPAddress("::1")!),
        ("fd00::5", IPAddress("fd00::5")!), ("::ffff:192.168.1.9", IPAddress("192.168.1.9")!),
    ])
    func addressesReadFromRawSockaddrs(text: String, expected: IPAddress) throws {
        let socket = try SocketAddress(ipAddress: text, port: 53)
        let read = socket.withSockAddr { pointer, _ in ForwardingPolicy.address(of: UnsafeRawPointer(pointer)) }
        #expect(read == expected)
    }

    @Test func theDefaultAllowsOnlyPrivateAndLoopbackClients() throws {
        let networks = IPNetwork.privateNetworks
        func allowed(_ text: String) throws -> Bool {
            let address = try #require(ForwardingPolicy.address(try SocketAddress(ipAddress: text, port: 1)))
            return networks.contains { $0.contains(address) }
        }
        #expect(try allowed("127.0.0.53"))
        #expect(try allowed("192.168.1.1"))
        #expect(try allowed("172.31.255.255"))
        #expect(try allowed("fd12::1"))
        #expect(try allowed("::ffff:10.0.0.1"))
        #expect(try !allowed("172.32.0.1"))
        #expect(try !allowed("8.8.8.8"))
        #expect(try !allowed("2001:db8::1"))
    }
}
