import DevStack
import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Whether this machine can drop packets (root with iptables) and forward a port (socat): what the partition
/// test needs. `scripts/install-deps.sh` installs both; CI runs as root.
let canBlackhole: Bool = {
    guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/socat") else { return false }
    return (try? ChildProcess.run("/usr/sbin/iptables", ["-L", "OUTPUT", "-n"]).status) == 0
}()

/// Every packet to or from `port` on this machine is dropped until `restore` is called: a silent network, as a
/// failed switch or a firewall makes it, with no reset and no error.
struct Blackhole {
    let port: Int
    var rules: [[String]] {
        [["OUTPUT", "-p", "tcp", "--dport", "\(port)"], ["OUTPUT", "-p", "tcp", "--sport", "\(port)"]]
    }

    func close() throws {
        for rule in rules {
            let added = try ChildProcess.run("/usr/sbin/iptables", ["-I"] + rule + ["-j", "DROP"])
            guard added.status == 0 else { throw DevStackError("iptables: \(added.output)") }
        }
    }

    func restore() {
        for rule in rules { _ = try? ChildProcess.run("/usr/sbin/iptables", ["-D"] + rule + ["-j", "DROP"]) }
    }
}

/// `/health`'s status code, or nil when the port does not answer.
func healthStatus(port: Int) async -> Int? {
    guard let url = URL(string: "http://127.0.0.1:\(port)/health") else { return nil }
    var request = URLRequest(url: url)
    request.timeoutInterval = 5
    guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
    return (response as? HTTPURLResponse)?.statusCode
}

extension SharedStackTests {
    @Test(
        "A silent network to PostgreSQL is an error within 30 s and /health turns unhealthy; commits resume within 60 s of its return, with no restart of PostgreSQL",
        .enabled(if: canBlackhole, "needs root, iptables and socat (scripts/install-deps.sh)"))
    func blackholedPostgres() async throws {
        try await Pipeline.with { pipeline in
            // The processor reaches PostgreSQL through a port of its own, so that the blackhole touches it alone.
            let serverPort = try #require(URLComponents(string: pipeline.database.url)?.port)
            let proxyPort = try ChildProcess.freeLoopbackPort()
            let proxy = try ChildProcess.start(
                "/usr/bin/socat",
                ["TCP-LISTEN:\(proxyPort),bind=127.0.0.1,fork,reuseaddr", "TCP:127.0.0.1:\(serverPort)"],
                logFile: pipeline.directory.appendingPathComponent("socat.log").path)
            defer { kill(proxy, SIGKILL) }
            let proxied = pipeline.database.url.replacingOccurrences(of: ":\(serverPort)/", with: ":\(proxyPort)/")
            let metricsPort = try ChildProcess.freeLoopbackPort()
            let (processor, log) = try pipeline.startProcessor(
                ["--postgres-url", proxied, "--metrics-port", "\(metricsPort)", "--stall-seconds", "10"],
                log: "partition.log")
            defer { kill(processor, SIGTERM) }
            #expect(try await waitUntil(60) { await healthStatus(port: metricsPort) == 200 })

            let blackhole = Blackhole(port: proxyPort)
            try blackhole.close()
            defer { blackhole.restore() }
            let cutAt = ContinuousClock.now
            // Records arrive while PostgreSQL cannot be reached.
            let village = try pipeline.agent(for: "140403001006")
            defer { try? FileManager.default.removeItem(at: village.directory) }
            let month = recentMonth(1)
            let file = try village.write("p.csv", makeLedger(count: 30, seed: 45).csv)
            #expect(try village.agent(["submit", "--period", month, file]).status == 0)
            let named = try await waitUntil(30) {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                return text.contains(" error empmon.process:")
            }
            let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(named, "no error within 30 s of the partition: \(logText.suffix(2000))")
            #expect(try await waitUntil(30) { await healthStatus(port: metricsPort) == 503 })
            // Not only the watchdog: the connection itself is found dead (keepalives, tcp_user_timeout) and retried,
            // where without them a statement would wait on the kernel's retransmissions for many minutes.
            let lost = try await waitUntil(10) {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                return text.contains(" error empmon.process:") && text.contains("failed; retrying")
            }
            #expect(lost, "the lost connection was not named: \(logText.suffix(1500))")
            #expect(ContinuousClock.now - cutAt < .seconds(40))
            // The gauges follow within the watchdog's second.
            #expect(
                try await waitUntil(5) {
                    metricValue(try await scrapeMetrics(port: metricsPort), "empmon_processor_stalled") == 1
                })
            let age = metricValue(
                try await scrapeMetrics(port: metricsPort), "empmon_processor_last_commit_age_seconds")
            #expect((age ?? 0) > 10, "the last commit's age grows while stalled: \(age ?? -1)")

            // The network comes back after a while; PostgreSQL was never touched.
            try await Task.sleep(until: cutAt + .seconds(60))
            blackhole.restore()
            let restoredAt = ContinuousClock.now
            let stored = try await waitUntil(60) {
                try await pipeline.query(
                    "SELECT count(*)::int FROM person_ledger WHERE unit_code = '140403001006'", as: Int.self) == [30]
            }
            let after = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(stored, "commits did not resume within 60 s: \(after.suffix(2000))")
            print(
                "partition test: error named \(named ? "within 30 s" : "late"), commits resumed \(ContinuousClock.now - restoredAt) after the network returned"
            )
            #expect(try await waitUntil(30) { await healthStatus(port: metricsPort) == 200 })
            let verify = try pipeline.run(["verify", "--period", month])
            #expect(verify.status == 0, "\(verify.output)")
        }
    }
}
