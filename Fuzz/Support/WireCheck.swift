import CLDNS

/// The independent reading of what svcdns would send: libldns, never svcdns's own decoder.
public struct WireReading {
    public var id: UInt16
    public var isResponse: Bool
    public var opcode: Int
    public var truncated: Bool
    public var questions: Int
    public var answers: Int
    public var authority: Int
    public var additional: Int
}

public enum WireCheck {
    /// libldns's reading of `message`, or nil when it cannot read it.
    public static func read(_ message: UnsafeRawBufferPointer) -> WireReading? {
        guard let base = message.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var packet: UnsafeMutablePointer<ldns_pkt>? = nil
        guard ldns_wire2pkt(&packet, base, message.count) == LDNS_STATUS_OK, let packet else { return nil }
        defer { ldns_pkt_free(packet) }
        return WireReading(
            id: ldns_pkt_id(packet), isResponse: ldns_pkt_qr(packet), opcode: Int(ldns_pkt_get_opcode(packet).rawValue),
            truncated: ldns_pkt_tc(packet), questions: Int(ldns_pkt_qdcount(packet)), answers: Int(ldns_pkt_ancount(packet)),
            authority: Int(ldns_pkt_nscount(packet)), additional: Int(ldns_pkt_arcount(packet))
        )
    }

    /// Requires `message` to be a response libldns reads, within `limit` bytes, to the query with `id`.
    @discardableResult
    public static func requireResponse(
        _ message: UnsafeRawBufferPointer, limit: Int, id: UInt16, what: @autoclosure () -> String
    ) -> WireReading {
        require(message.count <= limit, "\(what()): \(message.count) bytes, over the limit of \(limit)")
        guard let reading = read(message) else {
            require(false, "\(what()): libldns cannot read the \(message.count)-byte response (\(status(message))) \(hex(message))")
            fatalError("unreachable")
        }
        require(reading.isResponse, "\(what()): QR is clear")
        require(reading.id == id, "\(what()): id \(reading.id), the query's was \(id)")
        return reading
    }

    /// Why libldns cannot read `message`.
    static func status(_ message: UnsafeRawBufferPointer) -> String {
        guard let base = message.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return "empty" }
        var packet: UnsafeMutablePointer<ldns_pkt>? = nil
        let status = ldns_wire2pkt(&packet, base, message.count)
        if let packet { ldns_pkt_free(packet) }
        return String(cString: ldns_get_errorstr_by_id(status))
    }

    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        bytes.prefix(4096).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined()
    }
}
