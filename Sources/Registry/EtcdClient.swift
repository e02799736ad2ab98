import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// etcd's v3 key-value API through its JSON gateway (`/v3/kv/...`), over async-http-client.
///
/// The gateway speaks the gRPC messages as JSON: keys and values are base64, 64-bit numbers are strings.
/// Only what the registry needs is here: read a prefix at a revision, put and delete (optionally only
/// if the key's revision is still the one the writer saw), and watch a prefix from a revision.
public struct EtcdClient: Sendable {
    /// The members to try, in order (`http://host:port`).
    public let endpoints: [String]
    public let timeout: TimeAmount
    /// A watch that shows neither an event nor progress for this long has its member asked whether it is
    /// alive; one that does not answer within 2 s is given up on and the watch ends (`disconnected`), so the
    /// follower resumes it through the next member. A member stopped dead (SIGSTOP, a hung host) holds its
    /// TCP connections open and says nothing, so only this notices it.
    public let watchSilence: Duration
    private let http: HTTPClient
    /// The member that answered last: requests start there, so a dead member costs one timeout, not one
    /// per request.
    private let preferred = PreferredMember()

    public init(
        endpoints: [String], timeout: TimeAmount = .seconds(5), watchSilence: Duration = .seconds(10),
        http: HTTPClient = EtcdClient.defaultHTTP
    ) {
        self.endpoints = endpoints
        self.timeout = timeout
        self.watchSilence = watchSilence
        self.http = http
    }

    /// Keys asked for in one page of a listing: a page of Services is well under a MiB. A page whose reply
    /// would pass `maxReplyBytes` (large EndpointSlices) is asked again at half the size, and the pages after
    /// one over `targetPageBytes` ask for half as many keys.
    public static let defaultPageSize = 1000
    /// What a page of a listing should stay under: a few MiB, so that decoding one never holds much.
    public static let targetPageBytes = 8 << 20
    /// The most one reply may hold, and the longest message of a watch stream.
    public static let maxReplyBytes = 64 << 20
    /// Watch batches held for the follower at most: one that falls this far behind the stream ends the watch
    /// (`fellBehind`) and resumes it from the last revision it applied, rather than letting the buffer grow.
    public static let watchBufferBatches = 256

    /// The HTTP client for etcd: a refused or slow connect fails the member at once (within 1 s), so the
    /// next member is tried; async-http-client's default would retry that one member until the request's
    /// deadline. Process-wide, like `HTTPClient.shared`, so it is never shut down.
    public static let defaultHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(1))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The endpoints, the one that answered last first.
    private var ordered: [String] {
        let first = preferred.index.load(ordering: .relaxed) % max(endpoints.count, 1)
        return Array(endpoints[first...] + endpoints[..<first])
    }

    private func answered(_ endpoint: String) {
        if let index = endpoints.firstIndex(of: endpoint) { preferred.index.store(index, ordering: .relaxed) }
    }

    /// A member whose watch broke is tried last next time, unless another has answered since.
    private func passOver(_ endpoint: String) {
        guard endpoints.count > 1, let index = endpoints.firstIndex(of: endpoint) else { return }
        _ = preferred.index.compareExchange(expected: index, desired: (index + 1) % endpoints.count, ordering: .relaxed)
    }

    /// One key as etcd holds it.
    public struct KeyValue: Hashable, Sendable {
        public var key: String
        public var value: Data
        /// The revision of the key's last change: what `resourceVersion` shows.
        public var modRevision: Int64

        public init(key: String, value: Data, modRevision: Int64) {
            self.key = key
            self.value = value
            self.modRevision = modRevision
        }
    }

    /// Why a request failed.
    public enum Failure: Error, Hashable, Sendable {
        /// No member answered (the last member's error).
        case unreachable(String)
        /// A member answered with something other than success.
        case rejected(status: Int, message: String)
        /// The reply was larger than `maxReplyBytes`.
        case tooLarge(String)
    }

    /// Every key under `prefix`, and the store's revision they were read at.
    ///
    /// Read in pages of at most `pageSize` keys, each page continuing after the last key of the one before
    /// and read at the revision of the first, so that a prefix of any size lists as one consistent view and
    /// no reply passes `maxReplyBytes`. When that revision is compacted away between pages, etcd refuses the
    /// next page and the listing fails; the caller lists again.
    public func range(
        prefix: String, pageSize: Int = EtcdClient.defaultPageSize
    ) async throws(Failure) -> (kvs: [KeyValue], revision: Int64) {
        let end = Self.base64(Self.prefixEnd(prefix))
        var start = Self.base64(prefix)
        var limit = max(1, pageSize)
        var revision: Int64? = nil
        var kvs: [KeyValue] = []
        while true {
            let request = RangeRequest(key: start, range_end: end, limit: String(limit), revision: revision.map { String($0) })
            let reply: RangeReply
            do throws(Failure) {
                reply = try await call("/v3/kv/range", request)
            } catch .tooLarge(let reason) {
                guard limit > 1 else { throw .tooLarge(reason) }
                limit = max(1, limit / 2)
                continue
            }
            let page = reply.kvs ?? []
            if revision == nil { revision = reply.header.revisionNumber }
            kvs += page.map(\.decoded)
            let bytes = page.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.utf8.count ?? 0) }
            if bytes > Self.targetPageBytes { limit = max(1, limit / 2) }
            // The next key after the last one: the same bytes with a zero byte appended.
            guard reply.more == true, let last = page.last, let key = Data(base64Encoded: last.key) else { break }
            start = (key + [0]).base64EncodedString()
        }
        return (kvs, revision ?? 0)
    }

    /// Writes `value` at `key`. With `ifModRevision`, only while the key's last change is that revision
    /// (0: only while the key does not exist); nil when that no longer holds. Returns the new revision.
    public func put(_ key: String, _ value: Data, ifModRevision expected: Int64? = nil) async throws(Failure) -> Int64? {
        let put = PutRequest(key: Self.base64(key), value: value.base64EncodedString())
        guard let expected else {
            let reply: Header = try await call("/v3/kv/put", put)
            return reply.header.revisionNumber
        }
        let txn = TxnRequest(
            compare: [Compare(key: Self.base64(key), mod_revision: String(expected))],
            success: [RequestOp(request_put: put, request_delete_range: nil)]
        )
        let reply: TxnReply = try await call("/v3/kv/txn", txn)
        return reply.succeeded == true ? reply.header.revisionNumber : nil
    }

    /// Deletes `key`, with `ifModRevision` as for `put`. Returns the new revision, or nil when the key
    /// was not there (or not at that revision).
    public func delete(_ key: String, ifModRevision expected: Int64? = nil) async throws(Failure) -> Int64? {
        let delete = DeleteRangeRequest(key: Self.base64(key))
        guard let expected else {
            let reply: DeleteRangeReply = try await call("/v3/kv/deleterange", delete)
            return (Int64(reply.deleted ?? "0") ?? 0) > 0 ? reply.header.revisionNumber : nil
        }
        let txn = TxnRequest(
            compare: [Compare(key: Self.base64(key), mod_revision: String(expected))],
            success: [RequestOp(request_put: nil, request_delete_range: delete)]
        )
        let reply: TxnReply = try await call("/v3/kv/txn", txn)
        return reply.succeeded == true ? reply.header.revisionNumber : nil
    }

    /// One change a watch saw.
    public enum WatchEvent: Hashable, Sendable {
        case put(KeyValue)
        /// The key, and the revision of its deletion.
        case delete(key: String, revision: Int64)
    }

    /// Why a watch ended.
    public enum WatchEnd: Error, Hashable, Sendable {
        /// The revisions asked for are compacted away: read the prefix again, and watch from there.
        case compacted(Int64)
        /// The connection ended or failed, or the member went silent: watch again from the last revision
        /// applied, through the next member.
        case disconnected(String)
        /// The consumer fell `watchBufferBatches` behind the stream: watch again from the last revision
        /// applied (everything before that was delivered).
        case fellBehind
        /// One message of the stream was over `maxReplyBytes`: resuming would meet it again, so list again.
        case tooLarge(String)
    }

    /// Every change under `prefix` from `revision` on, in revision order, a batch per revision (or a few
    /// revisions), after one empty batch when the watch is set up: what a replica applies to stay in step
    /// without polling. Ends by throwing `WatchEnd`. At most `watchBufferBatches` batches wait for the
    /// consumer; past that the watch ends with `fellBehind`.
    public func watch(prefix: String, from revision: Int64) -> AsyncThrowingStream<[WatchEvent], any Error> {
        let body = WatchRequest(
            create_request: WatchCreate(
                key: Self.base64(prefix), range_end: Self.base64(Self.prefixEnd(prefix)), start_revision: String(revision)
            )
        )
        let endpoints = self.ordered
        let http = self.http
        let timeout = self.timeout
        let client = self
        return AsyncThrowingStream(bufferingPolicy: .bufferingOldest(Self.watchBufferBatches)) { continuation in
            let task = Task {
                var lastError = "no etcd endpoint given"
                for endpoint in endpoints {
                    var request = HTTPClientRequest(url: endpoint + "/v3/watch")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(bytes: (try? JSONEncoder().encode(body)) ?? Data()))
                    let response: HTTPClientResponse
                    do {
                        // The timeout bounds getting the response head (a dead member is given up on, and the
                        // next tried); the stream of changes after it is open-ended.
                        response = try await http.execute(request, timeout: timeout)
                        client.answered(endpoint)
                    } catch {
                        lastError = "\(endpoint): \(error)"
                        continue
                    }
                    let activity = WatchActivity()
                    // Whichever ends first: the stream, or the watchdog finding the member silent and dead.
                    let end = await withTaskGroup(of: WatchEnd?.self) { group in
                        group.addTask { await Self.read(response.body, from: endpoint, into: continuation, activity: activity) }
                        group.addTask { await client.watchdog(endpoint, activity: activity) }
                        let first = await group.next() ?? nil
                        group.cancelAll()
                        return first ?? .disconnected("\(endpoint): the watch was cancelled")
                    }
                    if case .disconnected = end { client.passOver(endpoint) }
                    continuation.finish(throwing: end)
                    return
                }
                continuation.finish(throwing: WatchEnd.disconnected(lastError))
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Reads one member's watch stream into `continuation` until it ends; returns why it ended.
    private static func read(
        _ body: HTTPClientResponse.Body, from endpoint: String,
        into continuation: AsyncThrowingStream<[WatchEvent], any Error>.Continuation, activity: WatchActivity
    ) async -> WatchEnd {
        var pending: [UInt8] = []
        do {
            for try await chunk in body {
                activity.touch()
                pending += chunk.readableBytesView
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if let end = try deliver(line, to: continuation) { return end }
                }
                guard pending.count <= maxReplyBytes else {
                    return .tooLarge("\(endpoint): a watch message over \(maxReplyBytes >> 20) MiB")
                }
            }
            if !pending.isEmpty, let end = try deliver(pending, to: continuation) { return end }
            return .disconnected("\(endpoint): the watch stream ended")
        } catch {
            return .disconnected("\(endpoint): \(error)")
        }
    }

    /// Returns once the watch on `endpoint` has shown nothing for `watchSilence` and the member does not
    /// answer a status request either; nil when cancelled first (the stream ended on its own).
    private func watchdog(_ endpoint: String, activity: WatchActivity) async -> WatchEnd? {
        while !Task.isCancelled {
            let quiet = activity.quiet
            guard quiet >= watchSilence else {
                try? await Task.sleep(for: watchSilence - quiet)
                continue
            }
            // A quiet store is no dead member: etcd sends progress notifications only every few minutes.
            if await isAlive(endpoint) {
                activity.touch()
                continue
            }
            if Task.isCancelled { return nil }
            return .disconnected("\(endpoint): no event or progress for \(watchSilence), and the member does not answer")
        }
        return nil
    }

    /// Whether the member answers a status request within 2 s.
    private func isAlive(_ endpoint: String) async -> Bool {
        var request = HTTPClientRequest(url: endpoint + "/v3/maintenance/status")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: "{}"))
        guard let response = try? await http.execute(request, deadline: .now() + .seconds(2)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return response.status.code == 200
    }

    /// Decodes one message of a watch stream and yields its events; returns why the watch ended, if it did.
    private static func deliver(
        _ line: [UInt8], to continuation: AsyncThrowingStream<[WatchEvent], any Error>.Continuation
    ) throws -> WatchEnd? {
        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { return nil }
        let message = try JSONDecoder().decode(WatchMessage.self, from: Data(line))
        if let error = message.error {
            return .disconnected(error.message ?? "watch error")
        }
        guard let result = message.result else { return nil }
        if let compacted = result.compact_revision.flatMap({ Int64($0) }), compacted > 0 {
            return .compacted(compacted)
        }
        if result.canceled == true {
            return .disconnected(result.cancel_reason ?? "the watch was canceled")
        }
        let events: [WatchEvent] = (result.events ?? []).map { event in
            let kv = event.kv.decoded
            return event.type == "DELETE" ? .delete(key: kv.key, revision: kv.modRevision) : .put(kv)
        }
        // The first message only says the watch is set up: an empty batch, so the follower knows etcd is back.
        // Progress notifications (no events) only keep the watchdog quiet.
        if !events.isEmpty || result.created == true {
            if case .dropped = continuation.yield(events) { return .fellBehind }
        }
        return nil
    }

    /// Drops the history before `revision` (what etcd's own auto-compaction does).
    public func compact(revision: Int64) async throws(Failure) {
        let _: Header = try await call("/v3/kv/compaction", CompactionRequest(revision: String(revision)))
    }

    /// Sends one request, starting at the member that answered last. A member that cannot be reached, or
    /// that answers it is unavailable (no leader, an election, shutting down), passes the request to the
    /// next; so does one that has not answered within 2 s. When every member is alive but unavailable, as
    /// during an election, it asks them all again, pausing 100 ms, 200 ms, … until `timeout` has passed;
    /// when none can be reached it gives up at once.
    ///
    /// A request a member dropped while shutting down may have been applied before it dropped it, so a
    /// retried write can find its own result: a conditional one then reports a conflict, as any client of
    /// etcd's may after an ambiguous failure.
    private func call<Request: Encodable, Reply: Decodable>(_ path: String, _ body: Request) async throws(Failure) -> Reply {
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(body)
        } catch {
            throw .rejected(status: 0, message: "cannot encode the request: \(error)")
        }
        let deadline = NIODeadline.now() + timeout
        var pause = TimeAmount.milliseconds(100)
        var lastError = "no etcd endpoint given"
        while true {
            var sawUnavailable = false
            for endpoint in ordered {
                var request = HTTPClientRequest(url: endpoint + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: encoded))
                let status: Int
                let bytes: ByteBuffer
                do {
                    // One member gets at most 2 s of the budget: a follower whose leader just died holds a
                    // write until its own timeout (7 s), while an election takes a second or two.
                    let response = try await http.execute(request, deadline: min(deadline, .now() + .seconds(2)))
                    status = Int(response.status.code)
                    bytes = try await response.body.collect(upTo: Self.maxReplyBytes)
                } catch is NIOTooManyBytesError {
                    throw .tooLarge("\(endpoint): a reply over \(Self.maxReplyBytes >> 20) MiB")
                } catch {
                    lastError = "\(endpoint): \(error)"
                    if let error = error as? HTTPClientError, error == .deadlineExceeded { sawUnavailable = true }
                    continue
                }
                if status != 200 && Self.saysUnavailable(bytes) {
                    sawUnavailable = true
                    lastError = "\(endpoint): \(String(buffer: bytes))"
                    continue
                }
                guard status == 200 else {
                    throw .rejected(status: status, message: String(buffer: bytes))
                }
                answered(endpoint)
                do {
                    return try JSONDecoder().decode(Reply.self, from: Data(bytes.readableBytesView))
                } catch {
                    throw .rejected(status: status, message: "unexpected reply: \(String(buffer: bytes))")
                }
            }
            guard sawUnavailable, NIODeadline.now() + pause < deadline else { throw .unreachable(lastError) }
            try? await Task.sleep(nanoseconds: UInt64(pause.nanoseconds))
            pause = min(pause * 2, .seconds(1))
        }
    }

    /// Whether an error answer says the member cannot serve now rather than that the request is wrong: gRPC
    /// code 14 (Unavailable: no leader, leader changed, request timed out) or 1 (Canceled: the member is
    /// shutting down), as the gateway passes them on.
    static func saysUnavailable(_ body: ByteBuffer) -> Bool {
        struct GatewayError: Decodable { var code: Int? }
        let code = (try? JSONDecoder().decode(GatewayError.self, from: Data(body.readableBytesView)))?.code
        return code == 14 || code == 1
    }

    static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    /// The end of the range of keys that start with `prefix`: the prefix with its last byte plus one.
    static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.removeLast()
        }
        return "\0"
    }
}

// The gateway's JSON shapes (field names as etcd's protobuf defines them).
extension EtcdClient {
    struct ResponseHeader: Decodable {
        var revision: String?
        var revisionNumber: Int64 { Int64(revision ?? "0") ?? 0 }
    }

    struct Header: Decodable {
        var header: ResponseHeader
    }

    struct RangeRequest: Encodable {
        var key: String
        var range_end: String
        var limit: String?
        /// The revision to read at; nil: the newest.
        var revision: String?
    }

    struct WireKeyValue: Decodable {
        var key: String
        var value: String?
        var mod_revision: String?

        var decoded: KeyValue {
            KeyValue(
                key: String(decoding: Data(base64Encoded: key) ?? Data(), as: UTF8.self),
                value: Data(base64Encoded: value ?? "") ?? Data(),
                modRevision: Int64(mod_revision ?? "0") ?? 0
            )
        }
    }

    struct RangeReply: Decodable {
        var header: ResponseHeader
        var kvs: [WireKeyValue]?
        /// More keys lie in the range past this page's `limit`.
        var more: Bool?
    }

    struct PutRequest: Encodable {
        var key: String
        var value: String
    }

    struct DeleteRangeRequest: Encodable {
        var key: String
    }

    struct DeleteRangeReply: Decodable {
        var header: ResponseHeader
        var deleted: String?
    }

    struct Compare: Encodable {
        var key: String
        var target = "MOD"
        var result = "EQUAL"
        var mod_revision: String
    }

    struct RequestOp: Encodable {
        var request_put: PutRequest?
        var request_delete_range: DeleteRangeRequest?
    }

    struct TxnRequest: Encodable {
        var compare: [Compare]
        var success: [RequestOp]
    }

    struct WatchCreate: Encodable {
        var key: String
        var range_end: String
        var start_revision: String
        /// etcd then sends an empty message now and then (every 10 minutes unless configured otherwise) on a
        /// quiet watch: activity that keeps the watchdog from asking the member.
        var progress_notify = true
    }

    struct WatchRequest: Encodable {
        var create_request: WatchCreate
    }

    struct WireEvent: Decodable {
        /// Absent for PUT: the gateway leaves out an enum's first value.
        var type: String?
        var kv: WireKeyValue
    }

    struct WatchResult: Decodable {
        var created: Bool?
        var events: [WireEvent]?
        var compact_revision: String?
        var canceled: Bool?
        var cancel_reason: String?
    }

    /// The gateway sends a stream's error as an object with a message, or, from a member shutting down, as
    /// a bare string.
    struct WatchError: Decodable {
        var message: String?

        private enum CodingKeys: String, CodingKey { case message }

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                message = text
            } else {
                message = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .message)
            }
        }
    }

    struct WatchMessage: Decodable {
        var result: WatchResult?
        var error: WatchError?
    }

    struct CompactionRequest: Encodable {
        var revision: String
    }

    struct TxnReply: Decodable {
        var header: ResponseHeader
        var succeeded: Bool?
    }
}

/// When a watch stream last showed anything (an event, a progress notification, a chunk of either).
final class WatchActivity: Sendable {
    private let last = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)

    func touch() {
        last.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
    }

    /// How long since then.
    var quiet: Duration {
        let now = NIODeadline.now().uptimeNanoseconds
        let then = last.load(ordering: .relaxed)
        return .nanoseconds(Int64(clamping: now >= then ? now - then : 0))
    }
}

/// Which member an `EtcdClient` (and its copies) tries first.
final class PreferredMember: Sendable {
    let index = Atomic<Int>(0)
}
