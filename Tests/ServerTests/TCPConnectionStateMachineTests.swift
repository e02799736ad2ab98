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
        let readRequestedResult = state.readRequested(queryWaiting: false)
        #expect(readRequestedResult == .read)
    }

    @Test func aBufferedQueryIsTakenBeforeMoreIsRead() {
        var state = TCPConnectionStateMachine()
        let readRequestedResult = state.readRequested(queryWaiting: true)
        #expect(readRequestedResult == .hold)
        let releaseHeldReadResult = state.releaseHeldRead(queryWaiting: true)
        #expect(!releaseHeldReadResult)
        let releaseHeldRead2Result = state.releaseHeldRead(queryWaiting: false)
        #expect(releaseHeldRead2Result)
        let releaseHeldRead3Result = state.releaseHeldRead(queryWaiting: false)
        #expect(!releaseHeldRead3Result, "a held read is released once")
    }

    @Test func anUnwritableConnectionTakesNothingAndReadsNothingUntilWritable() {
        var state = TCPConnectionStateMachine()
        let writabilityChangedResult = state.writabilityChanged(isWritable: false)
        #expect(writabilityChangedResult == .startUnwritableTimer)
        #expect(!state.mayTakeQuery)
        let readRequestedResult = state.readRequested(queryWaiting: false)
        #expect(readRequestedResult == .hold)
        let releaseHeldReadResult = state.releaseHeldRead(queryWaiting: false)
        #expect(!releaseHeldReadResult)
        let writabilityChanged2Result = state.writabilityChanged(isWritable: true)
        #expect(writabilityChanged2Result == .cancelUnwritableTimerAndResume)
        #expect(state.mayTakeQuery)
        let releaseHeldRead2Result = state.releaseHeldRead(queryWaiting: false)
        #expect(releaseHeldRead2Result)
    }

    @Test func atMostMaxQueriesInFlight() {
        var state = TCPConnectionStateMachine(limits: TCPConnectionLimits(maxQueriesInFlight: 64))
        var taken = 0
        for _ in 0..<1000 where state.mayTakeQuery {
            state.queryTaken()
            taken += 1
        }
        #expect(taken == 64)
        let readRequestedResult = state.readRequested(queryWaiting: false)
        #expect(readRequestedResult == .hold)
        let answerReadyResult = state.answerReady(bytes: 100)
        #expect(answerReadyResult == .write)
        #expect(state.mayTakeQuery, "an answer frees a slot")
        let releaseHeldReadResult = state.releaseHeldRead(queryWaiting: false)
        #expect(releaseHeldReadResult)
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
            let answerReadyResult = state.answerReady(bytes: TCPConnectionStateMachine.largestAnswer)
            #expect(answerReadyResult == .write)
            queued += 1
        }
        #expect(queued == 3, "192 KiB may be queued before taking stops, so a fourth 64 KiB answer still fits")
        #expect(state.queuedAnswerBytes <= 256 * 1024)
        // Forwarded answers of queries taken earlier arrive: the one that would pass the bound closes.
        state.queryTaken()
        state.queryTaken()
        let answerReady2Result = state.answerReady(bytes: 60_000)
        #expect(answerReady2Result == .write)
        let answerReady3Result = state.answerReady(bytes: 60_000)
        #expect(answerReady3Result == .close)
        #expect(state.queuedAnswerBytes <= 256 * 1024)
        #expect(!state.mayTakeQuery)
        state.queryTaken()
        let answerReady4Result = state.answerReady(bytes: 10)
        #expect(answerReady4Result == .discard, "nothing is written once closing")
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
        let idleTimeoutFiredResult = state.idleTimeoutFired()
        #expect(!idleTimeoutFiredResult, "a query waiting on an upstream keeps the connection")
        _ = state.answerReady(bytes: 50)
        let idleTimeoutFired2Result = state.idleTimeoutFired()
        #expect(idleTimeoutFired2Result)
        #expect(!state.mayTakeQuery)
    }

    @Test func unwritableTimeoutClosesOnlyAnUnwritableConnection() {
        var state = TCPConnectionStateMachine()
        let unwritableTimeoutFiredResult = state.unwritableTimeoutFired()
        #expect(!unwritableTimeoutFiredResult)
        _ = state.writabilityChanged(isWritable: false)
        let unwritableTimeoutFired2Result = state.unwritableTimeoutFired()
        #expect(unwritableTimeoutFired2Result)
    }

    @Test func aHalfClosedConnectionFinishesOnceEverythingIsAnsweredAndWritten() {
        var state = TCPConnectionStateMachine()
        state.queryTaken()
        state.inputEnded()
        let readRequestedResult = state.readRequested(queryWaiting: false)
        #expect(readRequestedResult == .hold, "nothing more to read")
        #expect(!state.isFinished(queryWaiting: false))
        _ = state.answerReady(bytes: 40)
        #expect(!state.isFinished(queryWaiting: false), "its answer is not written yet")
        state.answerWritten(bytes: 40)
        #expect(!state.isFinished(queryWaiting: true), "a whole query still waits")
        #expect(state.isFinished(queryWaiting: false))
    }
}
