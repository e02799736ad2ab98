// ProbeLoop: the health checker's own thread, one epoll loop that runs the schedule and every probe's socket.

import CEpoll
import CoreMetrics
import Locking
import Logging
import NIOCore
import ServiceModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

import class Foundation.Thread

/// The probe loop could not be set up (no descriptors left for its epoll or eventfd).
struct ProbeLoopError: Error, CustomStringConvertible {
    var call: String
    var code: Int32
    var description: String { "\(call): \(String(cString: strerror(code)))" }
}

/// One thread that owns the ``ProbeSchedule`` and the sockets of the probes in flight, waiting in `epoll_wait`
/// for whichever comes first: a socket ready, a probe's deadline, the next endpoint due, or a command.
///
/// A probe costs a socket, a non-blocking `connect`, one readiness event and a close: no channel, pipeline,
/// promise or future per probe, which is most of what a probe cost on an event loop. Every mutable thing here
/// belongs to the thread; other threads only post commands (``post(_:)``), which wake it through an eventfd.
final class ProbeLoop: @unchecked Sendable {
    /// What other threads ask of the loop.
    enum Command {
        case update([ProbeTarget], unprobeable: [(EndpointID, String)], services: Set<ObjectKey>?, sequence: UInt64?)
        case start
        /// Abandons every probe and ends the thread; `done` is called once every socket is closed.
        case stop(done: @Sendable () -> Void)
        case statuses(@Sendable ([EndpointStatus]) -> Void)
        case counts(@Sendable (ProbeCounts) -> Void)
    }

    private struct Mailbox {
        var commands: [Command] = []
        /// Set when the thread ends: commands are refused from then on, and the eventfd is closed.
        var isClosed = false
    }

    /// The epoll tag of the eventfd; sockets are tagged with their probe's serial, which starts at 1.
    private static let wakeupTag: UInt64 = 0
    private static let eventsPerWait = 256

    private let epollFD: Int32
    private let wakeupFD: Int32
    private let mailbox = Locked(Mailbox())
    private let logger: Logger
    private let publish: (ProbeSchedule.Changes) -> Void

    // The thread's own state.
    private var schedule: ProbeSchedule
    private var connections: [UInt64: ProbeConnection] = [:]
    /// Each probe's deadline, under its serial; an entry whose probe is over is skipped when it comes up.
    private var deadlines = DueHeap<UInt64>()
    /// Probes over, whose results the schedule has not yet had.
    private var completed: [(serial: UInt64, result: ProbeResult)] = []
    private var stopped: [@Sendable () -> Void] = []
    private var exiting = false

    private let probesSucceeded = Counter(label: "svcdns_health_probes_total", dimensions: [("result", "success")])
    private let probesFailed = Counter(label: "svcdns_health_probes_total", dimensions: [("result", "failure")])
    private let wentUp = Counter(label: "svcdns_health_transitions_total", dimensions: [("state", "up")])
    private let wentDown = Counter(label: "svcdns_health_transitions_total", dimensions: [("state", "down")])

    /// Creates the loop and starts its thread. `publish` is called on that thread with the verdicts and
    /// transitions, at most once per pass of the loop.
    init(maxConcurrentProbes: Int, logger: Logger, publish: @escaping (ProbeSchedule.Changes) -> Void) throws {
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw ProbeLoopError(call: "epoll_create1", code: errno) }
        let wakeupFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeupFD >= 0 else {
            let code = errno
            close(epollFD)
            throw ProbeLoopError(call: "eventfd", code: code)
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeupTag
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeupFD, &event) == 0 else {
            let code = errno
            close(wakeupFD)
            close(epollFD)
            throw ProbeLoopError(call: "epoll_ctl", code: code)
        }
        self.epollFD = epollFD
        self.wakeupFD = wakeupFD
        self.logger = logger
        self.publish = publish
        schedule = ProbeSchedule(maxConcurrentProbes: maxConcurrentProbes)
        let thread = Thread { [self] in run() }
        thread.name = "svcdns-probe"
        thread.start()
    }

    /// Hands `command` to the loop's thread; false when the loop has ended (the command is dropped).
    @discardableResult
    func post(_ command: Command) -> Bool {
        mailbox.withLock { mailbox in
            guard !mailbox.isClosed else { return false }
            mailbox.commands.append(command)
            // Under the lock, so that the thread cannot close the eventfd between the check and the write.
            var one: UInt64 = 1
            _ = write(wakeupFD, &one, 8)
            return true
        }
    }

    // MARK: - The thread

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: Self.eventsPerWait)
        while !exiting {
            let ready = epoll_wait(epollFD, &events, Int32(events.count), waitMilliseconds(now: .now()))
            for index in 0..<max(Int(ready), 0) {
                let tag = events[index].data.u64
                if tag == Self.wakeupTag {
                    var count: UInt64 = 0
                    _ = read(wakeupFD, &count, 8)
                } else {
                    socketReady(tag)
                }
            }
            runCommands()
            let now = NIODeadline.now()
            expireDeadlines(now: now)
            if !exiting, let due = schedule.nextWakeup, due <= now {
                perform(schedule.wake(now: now))
            }
            finishCompleted()
            publishChanges()
        }
        shutDown()
    }

    /// Until the soonest of the next endpoint due and the next probe deadline, in whole milliseconds rounded up;
    /// -1 (until a socket or a command) when nothing is scheduled.
    private func waitMilliseconds(now: NIODeadline) -> Int32 {
        if exiting || !completed.isEmpty { return 0 }
        while let first = deadlines.first, connections[first.id] == nil {
            _ = deadlines.popFirst()
        }
        let soonest = [schedule.nextWakeup, deadlines.first?.due].compactMap { $0 }.min()
        guard let soonest else { return -1 }
        guard soonest > now else { return 0 }
        let nanoseconds = (soonest - now).nanoseconds
        return Int32(min((nanoseconds + 999_999) / 1_000_000, 60_000))
    }

    private func runCommands() {
        let commands = mailbox.withLock { mailbox -> [Command] in
            defer { mailbox.commands = [] }
            return mailbox.commands
        }
        for command in commands {
            switch command {
            case .update(let targets, let unprobeable, let services, let sequence):
                perform(
                    schedule.update(targets, unprobeable: unprobeable, services: services, sequence: sequence, now: .now())
                )
            case .start:
                perform(schedule.start(now: .now()))
            case .stop(let done):
                perform(schedule.stop())
                stopped.append(done)
                exiting = true
            case .statuses(let reply):
                reply(schedule.statuses())
            case .counts(let reply):
                reply(
                    ProbeCounts(
                        isRunning: schedule.isRunning, inFlight: schedule.inFlightCount,
                        highWaterMark: schedule.highWaterMark
                    )
                )
            }
        }
    }

    private func perform(_ actions: ProbeSchedule.Actions) {
        for serial in actions.abandon {
            connections.removeValue(forKey: serial)?.abandon()
        }
        for endpoint in actions.unprobeable {
            logger.debug(
                "endpoint not probed",
                metadata: [
                    "health.service": "\(endpoint.endpoint.service)", "health.address": "\(endpoint.endpoint.address)",
                    "health.reason": "\(endpoint.reason)",
                ]
            )
        }
        let now = NIODeadline.now()
        for probe in actions.start {
            let (connection, step) = ProbeConnection.open(probe.target)
            if let connection {
                connections[probe.serial] = connection
                deadlines.push(
                    DueHeap.Item(due: now + TimeAmount(probe.target.timeout), id: probe.serial, ticket: probe.serial)
                )
            }
            follow(step, of: probe.serial, registered: false)
        }
    }

    private func socketReady(_ serial: UInt64) {
        // A probe abandoned or timed out earlier in this pass may still have an event in the batch.
        guard var connection = connections[serial] else { return }
        let step = connection.ready()
        connections[serial] = connection
        follow(step, of: serial, registered: true)
    }

    /// Registers the socket for the readiness the probe waits for, or takes its result when it is over.
    private func follow(_ step: ProbeConnection.Step, of serial: UInt64, registered: Bool) {
        let interest: UInt32
        switch step {
        case .finished(let result):
            connections[serial] = nil
            completed.append((serial, result))
            return
        case .waitWritable: interest = EPOLLOUT.rawValue
        case .waitReadable: interest = EPOLLIN.rawValue
        }
        guard let fd = connections[serial]?.fd else { return }
        var event = epoll_event()
        event.events = interest
        event.data.u64 = serial
        if epoll_ctl(epollFD, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event) != 0 {
            let code = errno
            connections.removeValue(forKey: serial)?.abandon()
            completed.append((serial, .unhealthy(reason: "epoll_ctl: \(String(cString: strerror(code)))")))
        }
    }

    private func expireDeadlines(now: NIODeadline) {
        while let first = deadlines.first, first.due <= now {
            _ = deadlines.popFirst()
            guard var connection = connections.removeValue(forKey: first.id) else { continue }
            follow(connection.timedOut(), of: first.id, registered: true)
        }
    }

    private func finishCompleted() {
        // A result may start the next probe, and that one may be over at once (refused before any wait).
        while !completed.isEmpty {
            let batch = completed
            completed = []
            for (serial, result) in batch {
                switch result {
                case .healthy: probesSucceeded.increment()
                case .unhealthy: probesFailed.increment()
                }
                perform(schedule.finish(serial, result, now: .now()))
            }
        }
    }

    private func publishChanges() {
        guard let changes = schedule.takeChanges() else { return }
        for transition in changes.transitions {
            switch transition.to {
            case .up: wentUp.increment()
            case .down: wentDown.increment()
            case .pending: break
            }
            logger.info(
                "endpoint health changed",
                metadata: [
                    "health.service": "\(transition.endpoint.service)",
                    "health.address": "\(transition.endpoint.address)",
                    "health.port": "\(transition.port)",
                    "health.state": "\(transition.to.rawValue)",
                    "health.reason": "\(transition.reason)",
                ]
            )
        }
        publish(changes)
    }

    /// Closes every socket and the loop's own descriptors, then answers what was asked meanwhile.
    private func shutDown() {
        for connection in connections.values {
            connection.abandon()
        }
        connections.removeAll()
        let left = mailbox.withLock { mailbox -> [Command] in
            mailbox.isClosed = true
            close(wakeupFD)
            close(epollFD)
            defer { mailbox.commands = [] }
            return mailbox.commands
        }
        for command in left {
            switch command {
            case .update, .start: break
            case .stop(let done): stopped.append(done)
            case .statuses(let reply): reply([])
            case .counts(let reply):
                reply(ProbeCounts(isRunning: false, inFlight: 0, highWaterMark: schedule.highWaterMark))
            }
        }
        for done in stopped {
            done()
        }
    }
}

/// Whether probing has started, the probes in flight now, and the most ever in flight at once.
struct ProbeCounts: Sendable, Equatable {
    var isRunning: Bool
    var inFlight: Int
    var highWaterMark: Int
}
