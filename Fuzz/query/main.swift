// fuzz-query: the whole UDP query path (decode → resolve → rotate → rate-limit → encode into the worker's
// send slot) and the TCP one, against the example zones/ plus a generated cluster. Every response must be
// read by libldns, echo the query's ID with QR set, and fit the size limit the query was given.
import Authority
import DNSMessage
import FuzzSupport
import NIOCore
import Server
import ServiceModel

private let snapshot = FuzzCluster.snapshot(
    settings: ClusterSettings(domain: FuzzCluster.domain, nameServerAddresses: [IPAddress("127.0.0.1")!]))
/// A second shape of the same cluster: answers capped at two records, no fail-open.
private let cappedSnapshot = FuzzCluster.snapshot(
    settings: ClusterSettings(domain: FuzzCluster.domain, failOpen: false, maxAnswers: 2))
private let pipeline = QueryPipeline(resolver: QueryResolver(snapshots: SnapshotStore(snapshot)))
/// Over TCP the capped cluster may also be transferred (AXFR, IXFR from a journal holding it), and answers by zone,
/// with loopback senders' Client Subnet options believed.
private let loopback = IPNetwork("127.0.0.0/8")!
private let journal: TransferJournal = {
    let journal = TransferJournal()
    journal.record(cappedSnapshot)
    return journal
}()
private let cappedPipeline = QueryPipeline(
    resolver: QueryResolver(
        snapshots: SnapshotStore(cappedSnapshot),
        clientZones: ClientZones([(loopback, "zone-a"), (IPNetwork("127.0.2.0/24")!, "zone-b")], subnetSources: [loopback]),
        transfers: TransferPolicy(journal: journal, allowed: [loopback])))
/// Messages of one transfer checked at most: the fuzz cluster's zone takes a few dozen.
private let maxTransferMessages = 10_000
/// A low rate, so that slipped (empty, TC) and dropped answers come up as often as sent ones.
private let limiter = ResponseRateLimiter(ResponseRateLimit(rate: 2, slip: 2))
private let client = IPAddress("127.0.0.9")
private nonisolated(unsafe) var tcpOutput: [UInt8] = []
private nonisolated(unsafe) var clock: Int64 = 0
/// The UDP worker's send slot: the advertised payload size, as `DatagramBatch` allocates it.
private nonisolated(unsafe) let slot = UnsafeMutableRawBufferPointer.allocate(
    byteCount: Int(ResponseEncoder.advertisedUDPPayloadSize), alignment: 64)

/// The limit a response to `request` must keep: the query's own when it decodes, else an error's 512.
private func limit(for request: UnsafeRawBufferPointer, overTCP: Bool) -> Int {
    guard let query = try? MessageDecoder.decodeQuery(request) else { return ResponseEncoder.classicUDPLimit }
    return ResponseEncoder.sizeLimit(for: query, overTCP: overTCP)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQuery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let request = UnsafeRawBufferPointer(start: data, count: size)
    let isQuery = size >= 12 && data[2] & 0x80 == 0
    let id = size >= 2 ? UInt16(data[0]) << 8 | UInt16(data[1]) : 0

    // UDP, as a worker answers a datagram: into its fixed send slot, through response rate limiting.
    clock += 100_000_000  // 0.1 s a query: the limiter's window moves on
    let (outcome, written, decision) = pipeline.respond(
        toDatagram: request, client: client, snapshot: snapshot, limiter: limiter, now: .uptimeNanoseconds(UInt64(clock)),
        into: slot
    )
    switch outcome {
    case .answered(let type):
        let response = UnsafeRawBufferPointer(rebasing: slot[..<written])
        let reading = WireCheck.requireResponse(
            response, limit: limit(for: request, overTCP: false), id: id, what: "UDP answer")
        // A slipped answer goes out empty with TC; an error (no question read) slips as it is.
        if decision == .slip, type != nil {
            require(reading.truncated && reading.answers == 0, "a slipped answer has records or no TC")
        }
    case .dropped:
        require(!isQuery || decision == .drop, "a query of \(size) bytes was dropped without rate limiting")
    case .forward:
        require(false, "forwarded with no forwarder configured")
    case .transfer:
        require(false, "a zone transfer over UDP")
    }

    // TCP, into the connection's array, with the other shape of the cluster.
    switch cappedPipeline.respond(to: request, overTCP: true, client: client, into: &tcpOutput) {
    case .answered:
        tcpOutput.withUnsafeBytes { response in
            _ = WireCheck.requireResponse(response, limit: limit(for: request, overTCP: true), id: id, what: "TCP answer")
        }
    case .dropped:
        require(!isQuery, "a query of \(size) bytes was dropped over TCP")
    case .forward:
        require(false, "forwarded with no forwarder configured")
    case .transfer(var stream):
        // Every message of the transfer reads, answers the query's ID, and fits a TCP message; it ends.
        var messages = 0
        while stream.nextMessage(into: &tcpOutput) {
            messages += 1
            require(messages <= maxTransferMessages, "a transfer did not end within \(maxTransferMessages) messages")
            tcpOutput.withUnsafeBytes { message in
                _ = WireCheck.requireResponse(message, limit: ResponseEncoder.tcpLimit, id: id, what: "transfer message")
            }
        }
        require(messages > 0 && !stream.failed, "a transfer sent nothing, or stopped on a record no message holds")
    }
    return 0
}
