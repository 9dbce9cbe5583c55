import Foundation
import Processor
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Output straight to standard output, unbuffered, so progress shows while the work runs.
package func say(_ text: String = "") { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

/// Prints the processor's progress on one line while it works.
package final class ProgressLine: Sendable {
    package struct Totals { package var messages = 0, batches = 0, accepted = 0, ignored = 0, rejected = 0 }
    private let state = Mutex(Totals())

    package init() {}

    package func add(_ report: BatchReport) {
        let totals = state.withLock { totals in
            totals.messages += report.messages
            totals.batches += 1
            totals.accepted += report.acceptedPersons + report.acceptedActivity
            totals.ignored += report.ignored
            totals.rejected += report.rejected
            return totals
        }
        let line = "processing: \(totals.messages) records committed in \(totals.batches) batches"
        if isatty(STDOUT_FILENO) == 1 {
            FileHandle.standardOutput.write(Data("\r        \(line)".utf8))
        } else if totals.batches % 5 == 1 {
            say("        \(line)")
        }
    }

    package var totals: Totals { state.withLock { $0 } }
}
