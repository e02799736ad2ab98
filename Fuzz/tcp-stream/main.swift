// fuzz-tcp-stream: the TCP connection handler (framing, pipelining, backpressure, closing) in NIO's
// EmbeddedChannel, fed an arbitrary byte stream in arbitrary chunks while the client's writability flips.
// Every write must be exactly one frame holding a response libldns reads, and the responses must answer
// the stream's queries in order, none skipped and none twice.
import Authority
import DNSMessage
import FuzzSupport
import NIOCore
import NIOEmbedded
import Server

private let pipeline = QueryPipeline(resolver: QueryResolver(snapshots: SnapshotStore(FuzzCluster.snapshot())))
/// Small bounds, so that holding reads comes up within a short input: room for one answer of the largest
/// size (65,537 bytes with its prefix, the least the bound may be) and 8 KiB more.
private let limits = TCPConnectionLimits(maxQueriesInFlight: 4, maxQueuedAnswerBytes: 65537 + 8 * 1024)

/// The IDs of the queries the server must answer, in order: every whole frame of 12 bytes or more with QR
/// clear (a shorter frame or a response is dropped unanswered, as over UDP).
private func expectedIDs(in stream: UnsafeRawBufferPointer) -> [UInt16] {
    var ids: [UInt16] = []
    var offset = 0
    while stream.count - offset >= 2 {
        let length = Int(stream[offset]) << 8 | Int(stream[offset + 1])
        guard stream.count - offset - 2 >= length else { break }
        let frame = offset + 2
        if length >= 12 && stream[frame + 2] & 0x80 == 0 {
            ids.append(UInt16(stream[frame]) << 8 | UInt16(stream[frame + 1]))
        }
        offset = frame + length
    }
    return ids
}

/// Takes every write the handler made: each one frame of one response.
private func collect(_ channel: EmbeddedChannel, into answered: inout [UInt16]) {
    while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
        buffer.withUnsafeReadableBytes { bytes in
            require(bytes.count >= 2, "a write of \(bytes.count) bytes has no length prefix")
            let length = Int(bytes[0]) << 8 | Int(bytes[1])
            require(length == bytes.count - 2, "a write's prefix says \(length) bytes and \(bytes.count - 2) follow")
            let message = UnsafeRawBufferPointer(rebasing: bytes[2...])
            let id = message.count >= 2 ? UInt16(message[0]) << 8 | UInt16(message[1]) : 0
            WireCheck.requireResponse(message, limit: ResponseEncoder.tcpLimit, id: id, what: "TCP answer")
            answered.append(id)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTCPStream(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: size))
    // The delivery plan: up to 15 chunk sizes, used in turn; a size's top bit flips writability first.
    let plan = (0..<Int(input.byte() & 0x0F)).map { _ in input.byte() }
    let stream = input.rest()
    let expected = expectedIDs(in: stream)

    let channel = EmbeddedChannel()
    let loop = channel.embeddedEventLoop
    try! channel.pipeline.syncOperations.addHandlers([
        IdleStateHandler(allTimeout: .seconds(10)),
        TCPQueryHandler(pipeline: pipeline, server: "dns://fuzz", idleTimeout: .seconds(10), limits: limits),
    ])
    try! channel.connect(to: try! SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
    var answered: [UInt16] = []
    var offset = 0
    var step = 0
    while offset < stream.count, channel.isActive {
        var size = stream.count - offset
        if !plan.isEmpty {
            let planned = plan[step % plan.count]
            step += 1
            if planned & 0x80 != 0 {
                channel.isWritable.toggle()
                channel.pipeline.fireChannelWritabilityChanged()
            }
            size = min(size, Int(planned & 0x7F) + 1)
        }
        let chunk = UnsafeRawBufferPointer(rebasing: stream[offset..<(offset + size)])
        offset += size
        do {
            try channel.writeInbound(ByteBuffer(bytes: chunk))
        } catch {
            break  // closed by the handler
        }
        loop.advanceTime(by: .milliseconds(1))
        collect(channel, into: &answered)
    }
    // The client reads again and says it has finished sending: whatever is still owed must go out, and
    // then the connection closes (a connection left open here is stuck).
    if channel.isActive {
        if !channel.isWritable {
            channel.isWritable = true
            channel.pipeline.fireChannelWritabilityChanged()
        }
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        for _ in 0..<200 where channel.isActive {
            loop.advanceTime(by: .milliseconds(1))
        }
        collect(channel, into: &answered)
        require(!channel.isActive, "a connection stays open after its client finished sending")
        require(
            answered.count == expected.count,
            "\(expected.count - answered.count) of \(expected.count) queries unanswered when the client finished")
    }
    collect(channel, into: &answered)
    require(
        answered == Array(expected.prefix(answered.count)),
        "answers \(answered.prefix(20)) are not the queries \(expected.prefix(20)) in order")
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return 0
}
