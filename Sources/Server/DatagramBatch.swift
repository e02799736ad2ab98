// The memory of one UDP worker's batches: up to `capacity` datagrams read by one recvmmsg into fixed
// slots, and their answers, encoded straight into send slots, written by one sendmmsg.
import DNSMessage
import Glibc

/// Buffers allocated once per worker, so the transport allocates nothing per query. The encoder writes
/// each answer into the next free send slot, where sendmmsg takes it from: no copy.
///
/// Belongs to the worker's thread.
struct DatagramBatch: ~Copyable {
    /// Queries are read up to this size; a longer datagram is cut (MSG_TRUNC) and its answer is FORMERR.
    static let slotSize = 4096

    let capacity: Int
    /// No UDP answer is larger: the encoder caps them at the EDNS size svcdns advertises.
    private let answerSize = Int(ResponseEncoder.advertisedUDPPayloadSize)
    private let calls: LinuxCalls
    private let slots: UnsafeMutableRawPointer
    private let answers: UnsafeMutableRawPointer
    private let peers: UnsafeMutablePointer<sockaddr_storage>
    private let receiveVectors: UnsafeMutablePointer<iovec>
    private let receiveHeaders: UnsafeMutablePointer<MultiMessageHeader>
    private let sendVectors: UnsafeMutablePointer<iovec>
    private let sendHeaders: UnsafeMutablePointer<MultiMessageHeader>
    /// Answers queued by `queueAnswer` since the last `sendQueued`.
    private var queued = 0

    init(capacity: Int, calls: LinuxCalls) {
        self.capacity = capacity
        self.calls = calls
        slots = .allocate(byteCount: capacity * Self.slotSize, alignment: 64)
        answers = .allocate(byteCount: capacity * answerSize, alignment: 64)
        peers = .allocate(capacity: capacity)
        peers.initialize(repeating: sockaddr_storage(), count: capacity)
        receiveVectors = .allocate(capacity: capacity)
        receiveHeaders = .allocate(capacity: capacity)
        sendVectors = .allocate(capacity: capacity)
        sendHeaders = .allocate(capacity: capacity)
        for index in 0..<capacity {
            receiveVectors[index] = iovec(iov_base: slots + index * Self.slotSize, iov_len: Self.slotSize)
            var header = msghdr()
            header.msg_name = UnsafeMutableRawPointer(peers + index)
            header.msg_iov = receiveVectors + index
            header.msg_iovlen = 1
            receiveHeaders[index] = MultiMessageHeader(header: header, length: 0)
            sendVectors[index] = iovec(iov_base: answers + index * answerSize, iov_len: 0)
            var sendHeader = msghdr()
            sendHeader.msg_iov = sendVectors + index
            sendHeader.msg_iovlen = 1
            sendHeaders[index] = MultiMessageHeader(header: sendHeader, length: 0)
        }
    }

    deinit {
        slots.deallocate()
        answers.deallocate()
        peers.deinitialize(count: capacity)
        peers.deallocate()
        receiveVectors.deallocate()
        receiveHeaders.deallocate()
        sendVectors.deallocate()
        sendHeaders.deallocate()
    }

    /// Waits for at least one datagram (up to the socket's receive timeout), then takes what else is
    /// already queued without waiting, up to `capacity`. Returns how many were read; 0 when none came
    /// (timeout, signal, or the socket was shut down to wake the worker).
    mutating func receive(from fd: Int32) -> Int {
        for index in 0..<capacity {
            // The kernel overwrites the address length with the sender's; it must start at the full size.
            receiveHeaders[index].header.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
        }
        let count = calls.receiveBatch(fd, UnsafeMutableRawPointer(receiveHeaders), UInt32(capacity), Int32(MSG_WAITFORONE), nil)
        return max(Int(count), 0)
    }

    /// The bytes of datagram `index` of the last `receive`, cut at `slotSize`.
    func datagram(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: slots + index * Self.slotSize, count: Int(receiveHeaders[index].length))
    }

    /// The sender of datagram `index`, in the kernel's form.
    func sender(_ index: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(peers + index)
    }

    /// The sender of datagram `index`, copied out for an answer sent later.
    func peerAddress(_ index: Int) -> PeerAddress {
        PeerAddress(storage: peers[index], length: receiveHeaders[index].header.msg_namelen)
    }

    /// Where the next answer is to be written.
    var nextAnswer: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: answers + queued * answerSize, count: answerSize)
    }

    /// Queues the `size` bytes written into `nextAnswer`, to the sender of datagram `index`.
    mutating func queueAnswer(size: Int, to index: Int) {
        sendVectors[queued].iov_len = size
        sendHeaders[queued].header.msg_name = UnsafeMutableRawPointer(peers + index)
        sendHeaders[queued].header.msg_namelen = receiveHeaders[index].header.msg_namelen
        queued += 1
    }

    /// Sends every queued answer, in as few calls as the kernel allows. An answer the kernel refuses
    /// (an unreachable network, a full buffer) is skipped: UDP answers are best effort, the client retries.
    mutating func sendQueued(through fd: Int32) {
        var sent = 0
        var calls = 0
        while sent < queued && calls < queued + 4 {
            calls += 1
            let result = self.calls.sendBatch(fd, UnsafeMutableRawPointer(sendHeaders + sent), UInt32(queued - sent), 0)
            if result > 0 {
                sent += Int(result)
            } else if errno != EINTR {
                sent += 1  // sendmmsg reports the error of the first message it could not send
            }
        }
        queued = 0
    }
}

@available(*, unavailable)
extension DatagramBatch: Sendable {}
