import Domain
import Logging
import ServiceLifecycle
import Synchronization

/// Runs beside a processor: after each commit, evaluates the rules for the units the commit touched; every
/// `tick` delivers what is due (retries included); every `fullEvaluation` evaluates everything, because
/// report deadlines pass with the clock, not with commits.
package final class AlertService: Service, Sendable {
    let engine: AlertEngine
    let dispatcher: AlertDispatcher
    let tick: Duration
    let fullEvaluation: Duration
    let logger: Logger
    private let touched = Mutex<Set<DivisionCode>>([])
    private let wake: AsyncStream<Void>
    private let waker: AsyncStream<Void>.Continuation

    package init(
        engine: AlertEngine, dispatcher: AlertDispatcher, tick: Duration = .seconds(30),
        fullEvaluation: Duration = .seconds(3600), logger: Logger
    ) {
        self.engine = engine
        self.dispatcher = dispatcher
        self.tick = tick
        self.fullEvaluation = fullEvaluation
        self.logger = logger
        (wake, waker) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Called from the processor's commit hook; returns at once.
    package func touch(_ units: Set<DivisionCode>) {
        guard !units.isEmpty else { return }
        touched.withLock { $0.formUnion(units) }
        waker.yield()
    }

    package func run() async throws {
        let waker = self.waker
        let tick = self.tick
        await withGracefulShutdownHandler {
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: tick)
                        waker.yield()
                    }
                }
                var lastFull = ContinuousClock.now
                var first = true
                for await _ in wake {
                    let units = touched.withLock { units in
                        defer { units.removeAll() }
                        return units
                    }
                    let full = first || ContinuousClock.now - lastFull >= fullEvaluation
                    await evaluate(units: full ? nil : units, putBackOnFailure: units)
                    if full {
                        lastFull = ContinuousClock.now
                        first = false
                    }
                }
                // Shutting down: what the last commits touched is still evaluated.
                let units = touched.withLock { $0 }
                if !units.isEmpty { await evaluate(units: units, putBackOnFailure: []) }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            waker.finish()
        }
    }

    func evaluate(units: Set<DivisionCode>?, putBackOnFailure: Set<DivisionCode>) async {
        do {
            if units == nil || units?.isEmpty == false {
                let summary = try await engine.evaluate(units: units)
                if summary.fired + summary.resolved > 0 {
                    logger.info(
                        "alerts",
                        metadata: [
                            "fired": "\(summary.fired)", "resolved": "\(summary.resolved)",
                            "firing": "\(summary.stillFiring)",
                        ])
                }
            }
            _ = try await dispatcher.deliver(patience: .zero)
        } catch {
            logger.error("alert evaluation failed; will retry: \(error)")
            touched.withLock { $0.formUnion(putBackOnFailure) }
        }
    }
}
