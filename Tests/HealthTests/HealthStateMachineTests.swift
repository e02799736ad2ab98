// HealthStateMachineTests: the rise/fall rules, fed result by result with exact counts.

import Health
import ServiceModel
import Testing

/// One row: thresholds, the results in order, and the state expected after each one.
struct MachineRow: CustomTestStringConvertible, Sendable {
    var name: String
    var fall: Int
    var rise: Int
    /// `+` a success, `-` a failure.
    var results: String
    /// The state after each result: `p` pending, `u` up, `d` down.
    var states: String

    var testDescription: String { name }
}

@Suite("HealthStateMachine")
struct HealthStateMachineTests {
    @Test(arguments: [
        MachineRow(name: "first success is up at once", fall: 3, rise: 2, results: "+", states: "u"),
        MachineRow(name: "pending down after fall failures", fall: 3, rise: 2, results: "---", states: "ppd"),
        MachineRow(name: "fall 3 rise 2 round trip", fall: 3, rise: 2, results: "+---++", states: "uuuddu"),
        MachineRow(name: "a success breaks a failure run", fall: 3, rise: 2, results: "+--+--", states: "uuuuuu"),
        MachineRow(
            name: "a failure breaks a success run", fall: 3, rise: 2, results: "---+-++", states: "ppdddd" + "u"),
        MachineRow(name: "fall 1 rise 1", fall: 1, rise: 1, results: "+-+-", states: "udud"),
        MachineRow(name: "fall 1 pending down at once", fall: 1, rise: 1, results: "-+", states: "du"),
        MachineRow(name: "pending failures then success is up", fall: 3, rise: 2, results: "--+", states: "ppu"),
        MachineRow(
            name: "flapping never reaches fall", fall: 2, rise: 2, results: "+-+-+-+-", states: "uuuuuuuu"
        ),
        MachineRow(
            name: "flapping when down never reaches rise", fall: 2, rise: 2, results: "--+-+-++",
            states: "pdddddd" + "u"
        ),
        MachineRow(
            name: "down stays down on more failures", fall: 2, rise: 3, results: "+-----+++", states: "uuddddddu"),
    ])
    func transitions(_ row: MachineRow) {
        var machine = HealthStateMachine(fall: row.fall, rise: row.rise)
        #expect(machine.state == .pending)
        var previous = EndpointHealth.pending
        for (index, (symbol, expected)) in zip(row.results, row.states).enumerated() {
            let result: ProbeResult = symbol == "+" ? .healthy : .unhealthy(reason: "connection refused")
            let change = machine.record(result)
            let state = Self.state(expected)
            #expect(machine.state == state, "after result \(index + 1)")
            #expect(change == (state == previous ? nil : state), "change reported after result \(index + 1)")
            previous = state
        }
    }

    @Test func countsBelowOneActAsOne() {
        var machine = HealthStateMachine(fall: 0, rise: -5)
        #expect(machine.record(.unhealthy(reason: "HTTP 503")) == .down)
        #expect(machine.record(.healthy) == .up)
    }

    private static func state(_ symbol: Character) -> EndpointHealth {
        switch symbol {
        case "u": .up
        case "d": .down
        default: .pending
        }
    }
}
