/// Backpressure on one DNS-over-TCP connection (RFC 7766 §6.2.3), as a value: the handler reports what
/// happened and carries out what comes back, so every rule here is testable without a channel.
///
/// A query is taken off the input only while the connection can take its answer: the channel is
/// writable, fewer than `maxQueriesInFlight` queries await their answers, and the answers queued for the
/// client leave room for one more of the largest size, so that an answer made here never closes the
/// connection (only forwarded answers, whose queries were taken with room for their own, can). While a query cannot be taken, nothing more is
/// read from the socket either, so a client that sends without reading fills its own socket buffers,
/// not svcdns's memory.
struct TCPConnectionStateMachine {
    /// The largest message on TCP, with its two-byte length (RFC 1035 §4.2.2).
    static let largestAnswer = 2 + 65535

    let limits: TCPConnectionLimits
    private(set) var queriesInFlight = 0
    private(set) var queuedAnswerBytes = 0
    private var isWritable = true
    /// A read the channel asked for and was not passed on: passed on when queries may be taken again.
    private var readHeld = false
    private var inputClosed = false
    private var closing = false

    init(limits: TCPConnectionLimits = .init()) {
        self.limits = limits
    }

    /// Whether the next complete query may be taken off the input now.
    var mayTakeQuery: Bool {
        // Room for a largest answer, not for a quarter of the bound: with `--tcp-max-queued-bytes` under
        // 256 KiB, two pipelined answers of 60 KB closed a connection whose client read everything.
        !closing && isWritable && queriesInFlight < limits.maxQueriesInFlight
            && queuedAnswerBytes + Self.largestAnswer <= limits.maxQueuedAnswerBytes
    }

    mutating func queryTaken() {
        queriesInFlight += 1
    }

    /// A taken query that gets no answer (dropped, or its upstream failed).
    mutating func queryDropped() {
        queriesInFlight -= 1
    }

    enum AnswerAction: Equatable {
        /// Write it; report `answerWritten` when the write completes, whatever its result.
        case write
        /// The client lets answers pile up past the bound: close the connection (RFC 7766 §6.2.3, the
        /// offender pays, not the process).
        case close
        /// The connection is closing already.
        case discard
    }

    /// The answer, `bytes` long with its length prefix, to a query taken earlier is ready.
    mutating func answerReady(bytes: Int) -> AnswerAction {
        queriesInFlight -= 1
        guard !closing else { return .discard }
        guard bytes <= limits.maxQueuedAnswerBytes - queuedAnswerBytes else {
            closing = true
            return .close
        }
        queuedAnswerBytes += bytes
        return .write
    }

    /// A message of a longer answer (a zone transfer) is ready: as `answerReady`, but the query stays in flight
    /// until `queryDropped`-like `answerEnded` says its last message went.
    mutating func partOfAnswerReady(bytes: Int) -> AnswerAction {
        queriesInFlight += 1
        return answerReady(bytes: bytes)
    }

    /// The last message of a longer answer was handed on.
    mutating func answerEnded() {
        queriesInFlight -= 1
    }

    mutating func answerWritten(bytes: Int) {
        queuedAnswerBytes -= bytes
    }

    enum WritabilityAction: Equatable {
        /// Start the clock: a connection unwritable for the idle timeout is closed.
        case startUnwritableTimer
        /// Stop that clock and take the queries that wait.
        case cancelUnwritableTimerAndResume
    }

    mutating func writabilityChanged(isWritable: Bool) -> WritabilityAction {
        self.isWritable = isWritable
        return isWritable ? .cancelUnwritableTimerAndResume : .startUnwritableTimer
    }

    enum ReadAction: Equatable {
        case read
        case hold
    }

    /// The channel asks to read more; `queryWaiting` says whether a complete query is still buffered.
    mutating func readRequested(queryWaiting: Bool) -> ReadAction {
        if mayRead(queryWaiting: queryWaiting) { return .read }
        readHeld = true
        return .hold
    }

    /// After progress (an answer written, writability back, a query answered): whether to pass on the
    /// read held earlier.
    mutating func releaseHeldRead(queryWaiting: Bool) -> Bool {
        guard readHeld, mayRead(queryWaiting: queryWaiting) else { return false }
        readHeld = false
        return true
    }

    private func mayRead(queryWaiting: Bool) -> Bool {
        // Queries already buffered come first: reading more would only buffer more.
        !queryWaiting && !inputClosed && mayTakeQuery
    }

    /// The client will send nothing more (a half-close; a partial query left is never answered).
    mutating func inputEnded() {
        inputClosed = true
    }

    /// Whether to close now: the client has finished sending, and every query it sent is answered and
    /// written (RFC 7766 §6.2.3: the server closes after its last answer).
    func isFinished(queryWaiting: Bool) -> Bool {
        inputClosed && !queryWaiting && queriesInFlight == 0 && queuedAnswerBytes == 0 && !closing
    }

    /// Nothing moved in either direction for the idle timeout. A connection waiting on an upstream for
    /// one of its queries is not idle: its answer is still to come.
    mutating func idleTimeoutFired() -> Bool {
        guard queriesInFlight == 0, !closing else { return false }
        closing = true
        return true
    }

    /// The channel stayed unwritable for the idle timeout: the client does not read its answers.
    mutating func unwritableTimeoutFired() -> Bool {
        guard !isWritable, !closing else { return false }
        closing = true
        return true
    }

    /// The connection is closing for another reason (an error, the end): take and write nothing more.
    mutating func closed() {
        closing = true
    }
}
