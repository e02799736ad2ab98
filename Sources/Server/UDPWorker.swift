// The UDP transport: one thread per socket reads a batch of queries, answers each through the query
// pipeline, and sends the answers in one call. Forwarded queries are answered later, from NIO.
import Authority
import DNSMessage
import Glibc
import Locking
import NIOCore
import ServiceModel
import Synchronization

/// One thread answering one UDP socket.
///
/// The loop: wait for datagrams (at most `DatagramSocket.receiveTimeout`, so a stop is seen in bounded
/// time even if its wake-up is missed) → read up to `batchSize` with one `recvmmsg` → decode, resolve and
/// encode each → count them in the metrics → send every answer with one `sendmmsg`. System calls per
/// query fall with the batch, and the loop allocates nothing of its own per query (NIO's per-datagram
/// envelope, buffer and pipeline dispatch are gone from this path).
///
/// A query to forward is handed to an NIO event loop; its answer is sent from there through the same
/// socket (`DatagramSocket.send`), which is safe against the socket closing meanwhile.
final class UDPWorker: Sendable {
    /// Enough to take a burst of queries in one call; the floor probe of `scripts/bench` uses 32.
    static let batchSize = 64

    let socket: DatagramSocket
    private let pipeline: QueryPipeline
    private let forwardLoops: any EventLoopGroup
    /// Shared by every worker (see `ResponseRateLimiter` for why); nil when `--rrl-rate` is 0.
    private let limiter: ResponseRateLimiter?
    private let queryLog: QueryLog?
    private let server: String
    private let name: String
    private let stopping = Atomic<Bool>(false)
    private let thread = Locked<pthread_t?>(nil)
    /// Forwarded answers complete on event loops, several at once: their metrics are behind a lock.
    private let forwardedMetrics: LockedDNSMetrics

    init(
        socket: DatagramSocket, pipeline: QueryPipeline, forwardLoops: any EventLoopGroup, limiter: ResponseRateLimiter? = nil,
        queryLog: QueryLog? = nil, server: String, index: Int
    ) {
        self.queryLog = queryLog
        self.socket = socket
        self.pipeline = pipeline
        self.forwardLoops = forwardLoops
        self.limiter = limiter
        self.server = server
        self.name = "svcdns-udp-\(index)"
        self.forwardedMetrics = LockedDNSMetrics(server: server, proto: "udp")
    }

    /// Starts the worker's thread.
    func start() throws {
        guard let calls = LinuxCalls.shared else {
            throw IOError(errnoCode: ENOSYS, reason: "recvmmsg/sendmmsg are not in this C library")
        }
        let handle = try startThread { [self] in
            _ = name.withCString { calls.setThreadName(pthread_self(), $0) }
            run(calls: calls)
        }
        thread.withLock { $0 = handle }
    }

    /// Asks the loop to end after its current batch, and wakes it if it is waiting.
    func requestStop() {
        stopping.store(true, ordering: .relaxed)
        socket.wake()
    }

    /// Waits for the thread to end (after `requestStop`), then closes the socket. Blocks: call it off
    /// the cooperative thread pool.
    func join() {
        if let handle = thread.withLock({ handle in defer { handle = nil }; return handle }) {
            pthread_join(handle, nil)
        }
        socket.close()
    }

    private func run(calls: LinuxCalls) {
        var batch = DatagramBatch(capacity: Self.batchSize, calls: calls)
        let metrics = DNSMetrics(server: server, proto: "udp")
        while !stopping.load(ordering: .relaxed) {
            let count = batch.receive(from: socket.fd)
            guard count > 0 else { continue }
            let started = NIODeadline.now()
            // One snapshot for the queries read together: each is still answered from one whole snapshot.
            let snapshot = pipeline.resolver.snapshots.load()
            for index in 0..<count {
                answer(index, of: &batch, snapshot: snapshot, started: started, metrics: metrics)
            }
            // Counted before the answers leave, so a client that has its answer also sees it counted.
            metrics.flush(started: started)
            batch.sendQueued(through: socket.fd)
        }
    }

    private func answer(
        _ index: Int, of batch: inout DatagramBatch, snapshot: Snapshot, started: NIODeadline,
        metrics: DNSMetrics
    ) {
        let sender = batch.sender(index)
        let answer = batch.nextAnswer
        let client = ForwardingPolicy.address(of: sender)
        // The batch's clock reading serves as the rate limiter's: one clock read per batch, not per query.
        let (outcome, size, rateLimit) = pipeline.respond(
            toDatagram: batch.datagram(index), client: client, snapshot: snapshot, limiter: limiter, now: started,
            into: answer
        )
        switch outcome {
        case .answered(let type):
            metrics.count(type: type, isIPv6: PeerAddress.isIPv6(sender), size: size, rcode: answer[3] & 0x0F)
            if rateLimit == .slip { metrics.countRateLimited(.slip) }
            if let queryLog {
                let response = UnsafeRawBufferPointer(rebasing: answer[..<size])
                if queryLog.selects(response) {
                    let peer = batch.peerAddress(index)
                    peer.withSockAddr { address, length in
                        queryLog.record(response, peer: UnsafeRawPointer(address), peerLength: length, overTCP: false, started: started)
                    }
                }
            }
            batch.queueAnswer(size: size, to: index)
        case .dropped:
            if rateLimit == .drop { metrics.countRateLimited(.drop) }
        case .transfer:
            // The resolver streams transfers over TCP only: a datagram never gets here.
            break
        case .forward(let query, let request):
            forward(query, request, client: client, to: batch.peerAddress(index), started: started)
        }
    }

    /// Asks the upstreams on an event loop and sends their answer from there.
    /// The answer passes the rate limiter as it arrives, like any other UDP answer.
    private func forward(
        _ query: Query, _ request: QueryResolver.ForwardRequest, client: IPAddress?, to peer: PeerAddress,
        started: NIODeadline
    ) {
        let socket = self.socket
        let pipeline = self.pipeline
        let metrics = forwardedMetrics
        let limiter = self.limiter
        let queryLog = self.queryLog
        pipeline.forward(request, overTCP: false, on: forwardLoops.next()).whenSuccess { response in
            var response = response
            let decision = limiter?.decide(response, to: query, client: client, now: .now()) ?? .send
            switch decision {
            case .send: break
            case .slip: response = response.slipped
            case .drop:
                metrics.countRateLimited(.drop)
                return
            }
            var output: [UInt8] = []
            pipeline.encode(response, to: query, overTCP: false, into: &output)
            if decision == .slip { metrics.countRateLimited(.slip) }
            metrics.record(type: query.type, isIPv6: peer.isIPv6, response: output, started: started)
            socket.send(output, to: peer)
            if let queryLog {
                output.withUnsafeBytes { response in
                    peer.withSockAddr { address, length in
                        queryLog.record(response, peer: UnsafeRawPointer(address), peerLength: length, overTCP: false, started: started)
                    }
                }
            }
        }
    }
}

/// Starts `body` on a new thread; returns its handle for `pthread_join`.
private func startThread(_ body: @escaping @Sendable () -> Void) throws -> pthread_t {
    final class Start: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Start(body)).toOpaque()
    var handle = pthread_t()
    let result = pthread_create(
        &handle, nil,
        { raw in
            Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
    guard result == 0 else {
        Unmanaged<Start>.fromOpaque(context).release()
        throw IOError(errnoCode: result, reason: "pthread_create")
    }
    return handle
}
