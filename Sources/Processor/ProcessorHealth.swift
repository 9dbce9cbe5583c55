import Foundation
import Logging
import Prometheus
import Synchronization

/// What the processor's batch loop last reported, read by a watchdog that does not depend on the loop: when a
/// batch hangs (a silent network to PostgreSQL, a lock held elsewhere), the loop cannot say so itself. The
/// watchdog logs the progress line, the age of the last commit and, past `stallAfter`, an error; `/health`
/// answers from the same state.
package final class ProcessorHealth: Sendable {
    package struct Snapshot: Sendable {
        package var lastCommit: ContinuousClock.Instant?
        /// Since when the loop has waited on a batch or on PostgreSQL, if it does now; `busyDepth` counts the
        /// nested waits (a batch's statements inside the batch).
        package var busySince: ContinuousClock.Instant?
        package var busyDepth = 0
        /// Records not yet committed, as last measured by the loop.
        package var lag: Int64 = 0
        /// When the processor started: the age of "the last commit" before there is one.
        package let launched = ContinuousClock.now
        /// When the progress line's counts began.
        package var started = ContinuousClock.now
        package var records = 0
        package var batches = 0
        package var durations: [Duration] = []
    }

    private let state = Mutex(Snapshot())
    package let stallAfter: Duration

    package init(stallAfter: Duration = .seconds(20)) {
        self.stallAfter = stallAfter
    }

    package var snapshot: Snapshot { state.withLock { $0 } }

    /// The loop begins to wait on a batch or on PostgreSQL; `ended()` follows it.
    func began(at instant: ContinuousClock.Instant = .now) {
        state.withLock {
            if $0.busyDepth == 0 { $0.busySince = instant }
            $0.busyDepth += 1
        }
    }

    func ended() {
        state.withLock {
            $0.busyDepth = max(0, $0.busyDepth - 1)
            if $0.busyDepth == 0 { $0.busySince = nil }
        }
    }

    func committed(_ report: BatchReport, at instant: ContinuousClock.Instant = .now) {
        state.withLock {
            $0.lastCommit = instant
            $0.records += report.messages
            $0.batches += 1
            $0.durations.append(report.duration)
        }
    }

    func measured(lag: Int64) { state.withLock { $0.lag = lag } }

    /// Why the processor is stalled, or nil: a batch or a call to PostgreSQL unfinished after `stallAfter`, or
    /// records waiting while nothing has committed for that long.
    package func stall(now: ContinuousClock.Instant = .now) -> String? {
        let current = snapshot
        if let since = current.busySince, now - since > stallAfter {
            return "a batch or a call to PostgreSQL has not finished for \((now - since).components.seconds) s"
        }
        let idleSince = current.lastCommit ?? current.launched
        if current.lag > 0, now - idleSince > stallAfter {
            return
                "\(current.lag) records wait and nothing has committed for \((now - idleSince).components.seconds) s"
        }
        return nil
    }

    /// Seconds since the last commit (since the start when none has committed).
    package func lastCommitAge(now: ContinuousClock.Instant = .now) -> Double {
        let current = snapshot
        let elapsed = now - (current.lastCommit ?? current.launched)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Takes the numbers of the progress line and starts counting afresh.
    func takeProgress(now: ContinuousClock.Instant = .now) -> (
        recordsPerSecond: Int, batches: Int, median: Duration?, lag: Int64
    ) {
        state.withLock { state in
            let elapsed = now - state.started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let sorted = state.durations.sorted()
            let result = (
                seconds > 0 ? Int(Double(state.records) / seconds) : 0, state.batches,
                sorted.isEmpty ? nil : sorted[sorted.count / 2], state.lag
            )
            state.records = 0
            state.batches = 0
            state.durations = []
            state.started = now
            return result
        }
    }

    /// Runs until cancelled: every second updates the gauges; every `logEvery` logs the progress line, and an
    /// error while stalled.
    func watch(metrics: ProcessorMetrics, logger: Logger, logEvery: Duration = .seconds(10)) async {
        var lastLog = ContinuousClock.now
        var wasStalled = false
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
            let stall = stall()
            metrics.lastCommitAge.set(lastCommitAge())
            metrics.stalled.set(Int64(stall == nil ? 0 : 1))
            // A stall is named the second it is seen, then with each progress line while it lasts.
            if let stall, !wasStalled { logger.error("processor stalled: \(stall)") }
            if stall == nil, wasStalled { logger.notice("processor no longer stalled") }
            defer { wasStalled = stall != nil }
            guard ContinuousClock.now - lastLog >= logEvery else { continue }
            lastLog = .now
            let progress = takeProgress()
            logger.info(
                "processor progress",
                metadata: [
                    "batch.records_per_second": "\(progress.recordsPerSecond)", "batches": "\(progress.batches)",
                    "batch_p50": "\(progress.median.map { "\($0.milliseconds) ms" } ?? "-")", "lag": "\(progress.lag)",
                    "batch.last_commit_age_s": "\(Int(lastCommitAge()))",
                ])
            if let stall, wasStalled { logger.error("processor stalled: \(stall)") }
        }
    }
}
