// The backpressure rules of one TCP connection (RFC 7766 §6.2.3), without a channel: when a query may be
// taken, when a read is held and released, when answers piling up close the connection, and what counts
// as idle.
import Testing

@testable import Server

@Suite("TCPConnectionStateMachine")
struct TCPConnectionStateMachineTests {
    @Test func aFreshConnectionTakesQueriesAndReads() {
        var state = TCPConnectionStateMachine()
        #expect(state.mayTakeQuery)
        let read = state.readRequested(queryWaiting: false)
        #expect(read == .read)
    }

    @Test func aBufferedQueryIsTakenBeforeMoreIsRead() {
        var state = TCPConnectionStateMachine()
        let read = state.readRequested(queryWaiting: true)
        #expect(read == .hold)
        let released = state.releaseHeldRead(queryWaiting: true)
        #expect(!released)
        let released2 = state.releaseHeldRead(queryWaiting: false)
        #expect(released2)
        let released3 = state.releaseHeldRead(queryWaiting: false)
        #expect(!released3, "a held read is released once")
    }

    @Test func anUnwritableConnectionTakesNothingAndReadsNothingUntilWritable() {
        var state = TCPConnectionStateMachine()
        let writability = state.writabilityChanged(isWritable: false)
        #expect(writability == .startUnwritableTimer)
        #expect(!state.mayTakeQuery)
        let read = state.readRequested(queryWaiting: false)
        #expect(read == .hold)
        let released = state.releaseHeldRead(queryWaiting: false)
        #expect(!released)
        let writability2 = state.writabilityChanged(isWritable: true)
        #expect(writability2 == .cancelUnwritableTimerAndResume)
        #expect(state.mayTakeQuery)
        let released2 = state.releaseHeldRead(queryWaiting: false)
        #expect(released2)
    }

    @Test func atMostMaxQueriesInFlight() {
        var state = TCPConnectionStateMachine(limits: TCPConnectionLimits(maxQueriesInFlight: 64))
        var taken = 0
        for _ in 0..<1000 where state.mayTakeQuery {
            state.queryTaken()
            taken += 1
        }
        #expect(taken == 64)
        let read = state.readRequested(queryWaiting: false)
        #expect(read == .hold)
        let answer = state.answerReady(bytes: 100)
        #expect(answer == .write)
        #expect(state.mayTakeQuery, "an answer frees a slot")
        let released = state.releaseHeldRead(queryWaiting: false)
        #expect(released)
        state.queryTaken()
        #expect(!state.mayTakeQuery)
        state.queryDropped()
        #expect(state.mayTakeQuery, "a dropped query frees its slot too")
    }

    @Test func queuedAnswersStopTakingBeforeTheBoundAndCloseBeyondIt() {
        var state = TCPConnectionStateMachine(limits: TCPConnectionLimits(maxQueriesInFlight: 1000, maxQueuedAnswerBytes: 256 * 1024))
        // Answers of the largest size are taken while one more still fits under the bound.
        var queued = 0
        while state.mayTakeQuery && queued < 100 {
            state.queryTaken()
            let answer = state.answerReady(bytes: TCPConnectionStateMachine.largestAnswer)
            #expect(answer == .write)
            queued += 1
        }
        #expect(queued == 3, "after three answers of the largest size, a fourth would not fit")
        #expect(state.queuedAnswerBytes <= 256 * 1024)
        // Forwarded answers of queries taken earlier arrive: the one that would pass the bound closes.
        state.queryTaken()
        state.queryTaken()
        let answer2 = state.answerReady(bytes: 60_000)
        #expect(answer2 == .write)
        let answer3 = state.answerReady(bytes: 60_000)
        #expect(answer3 == .close)
        #expect(state.queuedAnswerBytes <= 256 * 1024)
        #expect(!state.mayTakeQuery)
        state.queryTaken()
        let answer4 = state.answerReady(bytes: 10)
        #expect(answer4 == .discard, "nothing is written once closing")
    }

    /// With a bound under 256 KiB (`--tcp-max-queued-bytes 100000`), queries were taken while a quarter of
    /// it was free: a second pipelined answer of 60 KB then passed the bound and closed a connection whose
    /// client read every answer (found by `fuzz-tcp-stream`). A query is taken only with room for the largest.
    @Test func answersMadeHereNeverCloseTheConnection() {
        var state = TCPConnectionStateMachine(limits: TCPConnectionLimits(maxQueriesInFlight: 1000, maxQueuedAnswerBytes: 100_000))
        #expect(state.mayTakeQuery, "an empty queue takes a query")
        state.queryTaken()
        #expect(state.answerReady(bytes: 60_000) == .write)
        #expect(!state.mayTakeQuery, "40,000 bytes left cannot hold a largest answer")
        state.answerWritten(bytes: 60_000)
        #expect(state.mayTakeQuery)
        // The smallest bound the flag allows still takes one query at a time.
        var smallest = TCPConnectionStateMachine(limits: TCPConnectionLimits(maxQueuedAnswerBytes: 1))
        #expect(smallest.limits.maxQueuedAnswerBytes == TCPConnectionStateMachine.largestAnswer)
        #expect(smallest.mayTakeQuery)
        smallest.queryTaken()
        #expect(smallest.answerReady(bytes: TCPConnectionStateMachine.largestAnswer) == .write)
        #expect(!smallest.mayTakeQuery)
    }

    @Test func writtenAnswersFreeTheQueue() {
        var state = TCPConnectionStateMachine(limits: TCPConnectionLimits(maxQueriesInFlight: 1000, maxQueuedAnswerBytes: 256 * 1024))
        for _ in 0..<4 {
            state.queryTaken()
            _ = state.answerReady(bytes: 60_000)
        }
        #expect(!state.mayTakeQuery)
        state.answerWritten(bytes: 60_000)
        state.answerWritten(bytes: 60_000)
        #expect(state.mayTakeQuery)
        #expect(state.queuedAnswerBytes == 120_000)
    }

    @Test func idleClosesOnlyWithNoQueryAwaitingItsAnswer() {
        var state = TCPConnectionStateMachine()
        state.queryTaken()
        let closes = state.idleTimeoutFired()
        #expect(!closes, "a query waiting on an upstream keeps the connection")
        _ = state.answerReady(bytes: 50)
        let closes2 = state.idleTimeoutFired()
        #expect(closes2)
        #expect(!state.mayTakeQuery)
    }

    @Test func unwritableTimeoutClosesOnlyAnUnwritableConnection() {
        var state = TCPConnectionStateMachine()
        let closes = state.unwritableTimeoutFired()
        #expect(!closes)
        _ = state.writabilityChanged(isWritable: false)
        let closes2 = state.unwritableTimeoutFired()
        #expect(closes2)
    }

    @Test func aHalfClosedConnectionFinishesOnceEverythingIsAnsweredAndWritten() {
        var state = TCPConnectionStateMachine()
        state.queryTaken()
        state.inputEnded()
        let read = state.readRequested(queryWaiting: false)
        #expect(read == .hold, "nothing more to read")
        #expect(!state.isFinished(queryWaiting: false))
        _ = state.answerReady(bytes: 40)
        #expect(!state.isFinished(queryWaiting: false), "its answer is not written yet")
        state.answerWritten(bytes: 40)
        #expect(!state.isFinished(queryWaiting: true), "a whole query still waits")
        #expect(state.isFinished(queryWaiting: false))
    }
}
