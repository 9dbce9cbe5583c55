import Agent
import Domain
import Foundation
import Kafka
import Logging

/// Delivers the agent's pending records, one flush at a time: on the clerk's "send now", after each
/// submission, and every so often on its own, so that records spooled while the network was down go out
/// once the broker is reachable again.
package actor DeliveryDesk {
    /// One delivery attempt, as the page shows it.
    package struct Attempt: Codable, Sendable {
        package let at: String
        package let pending: Int
        package let delivered: Int
        package let failed: Int
        package let error: String?
    }

    private let workspace: AgentWorkspace
    private let timeout: Duration
    private let keepMonths: Int
    private let confirmWithin: Duration?
    private let security: KafkaSecurity
    private let logger: Logger
    private let currentPeriod: @Sendable () -> Period
    private var running: Task<Attempt, Never>?
    private var last: Attempt?

    package init(
        workspace: AgentWorkspace, timeout: Duration, keepMonths: Int, security: KafkaSecurity,
        confirmWithin: Duration? = AgentWorkspace.defaultConfirmWithin,
        currentPeriod: @escaping @Sendable () -> Period,
        logger: Logger
    ) {
        self.workspace = workspace
        self.confirmWithin = confirmWithin
        self.security = security
        self.timeout = timeout
        self.keepMonths = keepMonths
        self.currentPeriod = currentPeriod
        self.logger = logger
    }

    /// The month it is now where the agent reports.
    package nonisolated func now() -> Period { currentPeriod() }

    package var lastAttempt: Attempt? { last }

    /// Delivers what is pending; a call made while a flush runs waits for that flush instead of starting another.
    package func flushNow() async -> Attempt {
        if let running { return await running.value }
        let task = Task { await self.perform() }
        running = task
        let attempt = await task.value
        running = nil
        last = attempt
        return attempt
    }

    /// Every `interval` until the task is cancelled: retries pending records, and while the city has not yet
    /// confirmed what was delivered, reads its receipts (and re-sends what it did not confirm in time).
    package func retryPending(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            let pending = (try? workspace.spool.pendingCount()) ?? 0
            let unconfirmed = confirmWithin == nil ? 0 : (try? workspace.spool.unconfirmedCount()) ?? 0
            if pending + unconfirmed > 0 { _ = await flushNow() }
        }
    }

    private func perform() async -> Attempt {
        let at = ISO8601DateFormatter().string(from: Date())
        do {
            let (pending, outcome) = try await workspace.flush(
                timeout: timeout, keepMonths: keepMonths, now: currentPeriod(), security: security, logger: logger,
                confirmWithin: confirmWithin)
            return Attempt(
                at: at, pending: pending, delivered: outcome.delivered, failed: outcome.failed, error: outcome.lastError
            )
        } catch {
            logger.error("delivery failed: \(error)")
            return Attempt(
                at: at, pending: (try? workspace.spool.pendingCount()) ?? 0, delivered: 0, failed: 0, error: "\(error)")
        }
    }
}
