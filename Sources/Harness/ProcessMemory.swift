import Foundation

/// This process's memory, from /proc: what the demo and the benches report beside their figures.
package enum ProcessMemory {
    /// The peak resident memory since start, or since the last `resetPeak()`.
    package static func peakMiB() -> Double { figureMiB("VmHWM:") }

    /// The resident memory now.
    package static func currentMiB() -> Double { figureMiB("VmRSS:") }

    /// Resets the kernel's peak-RSS mark of this process (Linux: clear_refs 5), so a stage's peak is its own.
    package static func resetPeak() {
        try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs"))
    }

    /// A memory figure of this process from /proc/self/status (kB there), in MiB.
    private static func figureMiB(_ field: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kib / 1024
    }
}

extension Duration {
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
