import HeapCore
import HeapProtocol
import NIOCore
import NIOPosix

/// Long commands: how a command that may run for seconds (`SUM`, `LIST`, the views, `REPR` of a big
/// object) shares the daemon.
///
/// Two things wait for a running command: a stop of the world (a collection, `DEBUG VERIFY`, a view's
/// step), which needs every mutator out of the heap's gate, and the other clients of the command's
/// event loop, which need the loop's thread. So a long command runs as a ``SteppedCommand``: a step of
/// about ``SteppedCommand/slice`` at a time, after which its connection gives the loop back
/// (``LoopSteps``) and the next step runs once the loop has polled its sockets. Within a step, a
/// heap operation reaches its ``CommandSafepoint`` every ~1024 items (tens of microseconds), where a
/// pending stop goes through. A view that stops the world does so for one step at a time.
///
/// Meanwhile the command's own connection executes nothing else: requests it pipelined after the long
/// command wait, and run in order after its reply (``ConnectionStateMachine``'s `stepping` state).

/// The ``Safepoint`` of one step of a long command (`SUM`, `LIST`, `REPR`): what it does every ~1024 items.
///
/// 1. Stops the command with `-CANCELLED` when heapd is shutting down, or when its client hung up
///    (looked at once a millisecond at most: one `poll()`).
/// 2. Stops it with `-LIMIT` once it has run longer than `command-time-limit`.
/// 3. Lets a pending stop of the world through: publishes what the command holds as
///    ``Session/heldByCommand`` (the verifier counts it as held outside the heap), leaves the gate,
///    waits for the stop to end, enters again.
/// 4. Suspends the operation once the step's slice is over, so that the event loop serves others.
final class CommandSafepoint: Safepoint {
    private unowned let session: Session
    /// References the command took before the heap operation started (the object its argument names).
    private let borrowed: [ObjectRef]
    private let started: UInt64
    private let deadline: UInt64?
    private var lastPeerCheck: UInt64
    /// When the current step should suspend (`UInt64.max`: never, the whole operation in one step).
    private var sliceEnd: UInt64 = .max

    /// How often, at most, the client's socket is polled for a hang-up.
    static let peerCheckInterval: UInt64 = 1_000_000

    init(session: Session, holding borrowed: [ObjectRef], started: UInt64 = CycleCollector.now()) {
        self.session = session
        self.borrowed = borrowed
        self.started = started
        let limit = session.state.configuration.connectionLimits.commandTimeLimitMilliseconds
        deadline = limit > 0 ? started + UInt64(limit) * 1_000_000 : nil
        lastPeerCheck = started
    }

    /// Starts a step: the operation suspends at the first safepoint after `slice` nanoseconds.
    func beginStep(slice: UInt64) {
        sliceEnd = CycleCollector.now() &+ slice
    }

    func reached(holding refs: [ObjectRef]) throws(HeapError) -> SafepointAction {
        let state = session.state
        if state.shuttingDown.load(ordering: .relaxed) {
            state.counters.commandsCancelled.add(1, ordering: .relaxed)
            throw HeapError(.cancelled, "heapd is shutting down; the command was stopped")
        }
        let now = CycleCollector.now()
        if let deadline, now >= deadline {
            state.counters.commandsTimedOut.add(1, ordering: .relaxed)
            throw SteppedCommand.timeLimitError(state, ranFor: now - started)
        }
        if now &- lastPeerCheck >= Self.peerCheckInterval {
            lastPeerCheck = now
            if session.peer?.hungUp == true {
                state.counters.commandsCancelled.add(1, ordering: .relaxed)
                throw HeapError(.cancelled, "the client disconnected; the command was stopped")
            }
        }
        let gate = state.heap.gate
        if gate.isStopPending {
            // Published before leaving: the stopper reads it only after this thread's exit from the gate.
            session.heldByCommand = borrowed + refs
            if gate.yieldToStop() { state.counters.safepointYields.add(1, ordering: .relaxed) }
            session.heldByCommand = []
        }
        return now >= sliceEnd ? .suspend : .proceed
    }
}

/// A command that runs in steps on its connection's event loop (see the top of this file).
///
/// The command's handler makes one and returns it (``CommandOutcome/stepped(_:)``); ``ConnectionHandler`` then calls
/// ``advance()`` outside the heap's gate, once at once and again after every turn of the event loop,
/// until it returns the reply. A step decides for itself how it enters the heap: `gate.shared` for work
/// that mutates (and reaches safepoints), `gate.exclusive` for one step of a view.
final class SteppedCommand {
    /// How long one step works before the loop is given back: the other clients of the loop (and a
    /// stop of the world, for a view's step) wait at most about this long.
    static let slice: UInt64 = 1_000_000

    private unowned let session: Session
    private let started = CycleCollector.now()
    private var step: ((SteppedCommand) -> Reply?)?
    private let cancelled: () -> Void
    /// How many steps ran.
    private(set) var steps = 0
    /// How long the last step kept the world stopped (0 if it did not stop it).
    fileprivate(set) var lastStop: UInt64 = 0
    /// How long the last step took.
    private var lastStep: UInt64 = 0

    /// `step` does one slice of the work and returns the reply when done; `cancel` releases what the
    /// command holds when it will not be stepped again (its client left, heapd stops); both are
    /// called outside the gate.
    init(session: Session, step: @escaping (SteppedCommand) -> Reply?, cancel: @escaping () -> Void = {}) {
        self.session = session
        self.step = step
        cancelled = cancel
    }

    /// When this step should end.
    var stepBudget: StepBudget { StepBudget(nanoseconds: Self.slice) }

    /// Runs one step; the reply once the command is done (then it must not be advanced again).
    func advance() -> Reply? {
        guard let step else { return nil }
        let state = session.state
        if state.shuttingDown.load(ordering: .relaxed) {
            state.counters.commandsCancelled.add(1, ordering: .relaxed)
            cancel()
            return CommandError(HeapError(.cancelled, "heapd is shutting down; the command was stopped")).reply
        }
        let limit = state.configuration.connectionLimits.commandTimeLimitMilliseconds
        let elapsed = CycleCollector.now() - started
        if steps > 0 && limit > 0 && elapsed >= UInt64(limit) * 1_000_000 {
            state.counters.commandsTimedOut.add(1, ordering: .relaxed)
            cancel()
            return CommandError(Self.timeLimitError(state, ranFor: elapsed)).reply
        }
        steps += 1
        lastStop = 0
        let stepStarted = CycleCollector.now()
        defer { lastStep = CycleCollector.now() - stepStarted }
        guard let reply = step(self) else { return nil }
        self.step = nil
        return reply
    }

    /// How long to wait before the next step. After a step that stopped the world, as long as the stop
    /// lasted, so that mutators parked by it (other event loops' clients, woken by the gate) get their
    /// turn before the next stop: a loaded machine may take milliseconds to run a woken thread, and a
    /// stop announced again 20 µs after the last would catch them waiting once more. After another
    /// step, an eighth of it: the pause must outlast the rest of the event loop's tick, or the next
    /// step would run in the same tick, before the loop polls its sockets (a slow tick under a
    /// sanitizer or a loaded machine starved a loop's other clients so).
    var pauseBeforeNextStep: UInt64 {
        if lastStop > 0 { return min(max(lastStop, LoopSteps.pause), 2 * Self.slice) }
        return min(max(lastStep / 8, LoopSteps.pause), 2 * Self.slice)
    }

    /// Its client hung up (the connection closed between two steps): counted as cancelled, and what
    /// the command holds is released.
    func clientLeft() {
        guard step != nil else { return }
        session.state.counters.commandsCancelled.add(1, ordering: .relaxed)
        cancel()
    }

    /// The command will not be stepped again: releases what it holds.
    func cancel() {
        guard step != nil else { return }
        step = nil
        cancelled()
    }

    /// A ``CommandSafepoint`` whose time limit counts from this command's start.
    func makeSafepoint(holding borrowed: [ObjectRef] = []) -> CommandSafepoint {
        CommandSafepoint(session: session, holding: borrowed, started: started)
    }

    /// A long command whose steps run inside the heap's gate as a mutator (`SUM`, `LIST`, `REPR`): each
    /// step calls `resume` with the command's ``CommandSafepoint`` (its slice begun), which returns the
    /// reply or nil to go on; between steps, what `holding` names is published as
    /// ``Session/heldByCommand``, from now on (call this inside the handler's gate). `cancel` releases
    /// what the command holds; it runs inside the gate too.
    static func mutator(
        session: Session, holding: @escaping () -> [ObjectRef],
        resume: @escaping (CommandSafepoint) throws(CommandError) -> Reply?, cancel: @escaping () -> Void
    ) -> SteppedCommand {
        let gate = session.heap.gate
        session.heldByCommand = holding()
        var safepoint: CommandSafepoint?
        return SteppedCommand(
            session: session,
            step: { command in
                let stepSafepoint = safepoint ?? command.makeSafepoint()
                safepoint = stepSafepoint
                return gate.shared { () -> Reply? in
                    session.heldByCommand = []
                    stepSafepoint.beginStep(slice: Self.slice)
                    do throws(CommandError) {
                        guard let reply = try resume(stepSafepoint) else {
                            session.heldByCommand = holding()
                            return nil
                        }
                        return reply
                    } catch {
                        return error.reply
                    }
                }
            },
            cancel: {
                gate.shared {
                    cancel()
                    session.heldByCommand = []
                }
            })
    }

    static func timeLimitError(_ state: ServerState, ranFor nanoseconds: UInt64) -> HeapError {
        let limit = state.configuration.connectionLimits.commandTimeLimitMilliseconds
        return HeapError(
            .limit,
            "command stopped after \(nanoseconds / 1_000_000) ms (command-time-limit \(limit) ms); what it consumed stays consumed"
        )
    }
}

/// The long commands of one event loop, stepped round robin, with the loop's I/O between two rounds.
///
/// Why not `eventLoop.execute` per step: a NIO tick runs tasks until none is left, tasks queued
/// meanwhile included, so a command that queued its next step that way would never let its loop read
/// a socket again (measured: the loop's other clients waited for the whole command). Here a round runs
/// each waiting step once; steps queued during the round wait for the next one, which is scheduled
/// ``pause`` after the round ends. The tick then finds no task ready, ends, and the loop polls its
/// sockets before the next round: however many long commands a loop has, its other clients wait at
/// most one round (a slice per long command).
///
/// One per event-loop thread (thread-specific), touched only by that thread: hence `@unchecked Sendable`.
final class LoopSteps: @unchecked Sendable {
    private static let perThread = ThreadSpecificVariable<LoopSteps>()
    /// Between a round's end and the next round, at least: long enough that the tick that ran the
    /// round ends before the next one is due (nanoseconds).
    static let pause: UInt64 = 20_000

    /// The steps waiting, each with the time before which it must not run.
    private var waiting: [(due: UInt64, step: () -> Void)] = []
    private var inRound = false
    private var roundScheduled = false

    /// The calling event loop's.
    static var current: LoopSteps {
        if let steps = perThread.currentValue { return steps }
        let steps = LoopSteps()
        perThread.currentValue = steps
        return steps
    }

    /// Runs `step` in a round on `loop` (the calling thread's loop) at least `pause` nanoseconds from now.
    func enqueue(on loop: EventLoop, after pause: UInt64 = LoopSteps.pause, _ step: @escaping () -> Void) {
        waiting.append((CycleCollector.now() &+ max(pause, Self.pause), step))
        if !inRound { scheduleRound(on: loop) }
    }

    private func scheduleRound(on loop: EventLoop) {
        guard !roundScheduled, let due = waiting.map(\.due).min() else { return }
        roundScheduled = true
        let now = CycleCollector.now()
        let delay = max(due > now ? due - now : 0, Self.pause)
        loop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(delay))) { self.runRound(on: loop) }
    }

    private func runRound(on loop: EventLoop) {
        roundScheduled = false
        inRound = true
        let now = CycleCollector.now()
        let ready = waiting.filter { $0.due <= now }
        waiting.removeAll { $0.due <= now }
        for entry in ready { entry.step() }
        inRound = false
        if !waiting.isEmpty { scheduleRound(on: loop) }
    }
}

extension Session {
    /// Runs `body` as the step of a view: with the world stopped, for about one slice.
    func stoppedStep<R>(_ command: SteppedCommand, _ body: (borrowing StoppedHeap, inout StepBudget) -> R) -> R {
        let result = heap.withWorldStopped { stopped -> (R, UInt64) in
            let started = CycleCollector.now()
            var budget = command.stepBudget
            let result = body(stopped, &budget)
            return (result, CycleCollector.now() - started)
        }
        command.lastStop = result.1
        return result.0
    }
}

extension HeapError.Code {
    /// A command stopped before it finished because its result is not wanted any more: its client hung
    /// up, or heapd is shutting down.
    static let cancelled = HeapError.Code(ErrorCode.cancelled.rawValue)
}
