import NIOCore

/// RFC 1035 §4.2.2 / RFC 7766 §8: every DNS message on TCP is preceded by its two-byte length.
/// Emits one message per frame, however the bytes arrive (byte by byte or several frames at once).
///
/// `TCPQueryHandler` takes frames one at a time with `nextFrame(in:)`, so that it can stop between two
/// of them when the client does not read its answers; the `ByteToMessageDecoder` conformance is the same
/// rule, checked by NIO's decoder verifier.
struct TCPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// The next whole message in `buffer` (consumed with its prefix), or nil while it is incomplete.
    static func nextFrame(in buffer: inout ByteBuffer) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
            buffer.readableBytes >= 2 + Int(length)
        else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        return buffer.readSlice(length: Int(length))
    }

    /// Whether `buffer` holds a whole message.
    static func hasFrame(in buffer: ByteBuffer) -> Bool {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return false }
        return buffer.readableBytes >= 2 + Int(length)
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = Self.nextFrame(in: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        // A partial frame at EOF can never be answered; whole frames were already passed on by decode.
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
