import DevStack
import Domain
import Foundation
import Postgres
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

/// How long the suite's partition lasts and how many processors it cuts off: 60 s and one by default, so that
/// the suite stays short; `EMPMON_PARTITION_SECONDS=240 EMPMON_PARTITION_PROCESSORS=2` is the longer probe the
/// docs/testing.md reports.
struct PartitionProbe {
    let seconds: Int
    let processors: Int

    static var configured: PartitionProbe {
        let environment = ProcessInfo.processInfo.environment
        return PartitionProbe(
            seconds: max(60, environment["EMPMON_PARTITION_SECONDS"].flatMap { Int($0) } ?? 60),
            processors: min(12, max(1, environment["EMPMON_PARTITION_PROCESSORS"].flatMap { Int($0) } ?? 1)))
    }
}

extension SharedStackTests {
    @Test(
        "A silent network to PostgreSQL is an error within 30 s and /health turns unhealthy; commits resume within 60 s of its return, with no restart of PostgreSQL",
        .enabled(if: canBlackhole, "needs root, iptables and socat (scripts/install-deps.sh)"))
    func blackholedPostgres() async throws {
        let probe = PartitionProbe.configured
        try await Pipeline.with { pipeline in
            // The processors reach PostgreSQL through a port of their own, so that the blackhole touches them alone.
            let serverPort = try #require(URLComponents(string: pipeline.database.url)?.port)
            let proxyPort = try ChildProcess.freeLoopbackPort()
            let proxy = try ChildProcess.start(
                "/usr/bin/socat",
                ["TCP-LISTEN:\(proxyPort),bind=127.0.0.1,fork,reuseaddr", "TCP:127.0.0.1:\(serverPort)"],
                logFile: pipeline.directory.appendingPathComponent("socat.log").path)
            defer { kill(proxy, SIGKILL) }
            let proxied = pipeline.database.url.replacingOccurrences(of: ":\(serverPort)/", with: ":\(proxyPort)/")
            var processors: [(pid: Int32, log: String, metricsPort: Int)] = []
            defer { for processor in processors { kill(processor.pid, SIGTERM) } }
            for index in 0..<probe.processors {
                let metricsPort = try ChildProcess.freeLoopbackPort()
                let (pid, log) = try pipeline.startProcessor(
                    [
                        "--postgres-url", proxied, "--metrics-port", "\(metricsPort)", "--stall-seconds", "10",
                        "--client-id", "partition-\(index)",
                    ],
                    log: "partition-\(index).log")
                processors.append((pid, log, metricsPort))
            }
            func logText(_ index: Int) -> String {
                (try? String(contentsOfFile: processors[index].log, encoding: .utf8)) ?? ""
            }
            for index in processors.indices {
                let metricsPort = processors[index].metricsPort
                #expect(try await waitUntil(60) { await healthStatus(port: metricsPort) == 200 })
                #expect(try await waitUntil(60) { logText(index).contains("partitions assigned") })
            }
            // The group settles before the cut: a rebalance during it would be a different test.
            try await Task.sleep(for: .seconds(probe.processors > 1 ? 5 : 0))

            let blackhole = Blackhole(port: proxyPort)
            try blackhole.close()
            defer { blackhole.restore() }
            let cutAt = ContinuousClock.now
            // Records arrive while PostgreSQL cannot be reached: one village, or one in each county when several
            // processors share the partitions, so that each has work.
            let units = Array(try TopologyFilesHelper.oneVillagePerCounty().prefix(probe.processors == 1 ? 1 : 12))
            let city = try await pipeline.agent(for: "140400000000")
            defer { try? FileManager.default.removeItem(at: city.directory) }
            let month = recentMonth(1)
            for (index, unit) in units.enumerated() {
                let file = try city.write("p\(index).csv", makeLedger(count: 30, seed: 45 + index).csv)
                #expect(try city.agent(["submit", "--period", month, file, "--unit", unit]).status == 0)
            }
            let named = try await waitUntil(30) {
                processors.indices.contains { logText($0).contains(" error empmon.process:") }
            }
            #expect(named, "no error within 30 s of the partition: \(logText(0).suffix(2000))")
            for processor in processors {
                #expect(try await waitUntil(30) { await healthStatus(port: processor.metricsPort) == 503 })
            }
            // Not only the watchdog: the connection itself is found dead (keepalives, tcp_user_timeout) and retried,
            // where without them a statement would wait on the kernel's retransmissions for many minutes.
            let lost = try await waitUntil(10) {
                processors.indices.contains {
                    logText($0).contains(" error empmon.process:") && logText($0).contains("failed; retrying")
                }
            }
            #expect(lost, "the lost connection was not named: \(logText(0).suffix(1500))")
            #expect(ContinuousClock.now - cutAt < .seconds(40))
            // The gauges follow within the watchdog's second.
            for processor in processors {
                #expect(
                    try await waitUntil(5) {
                        metricValue(try await scrapeMetrics(port: processor.metricsPort), "empmon_processor_stalled")
                            == 1
                    })
                let age = metricValue(
                    try await scrapeMetrics(port: processor.metricsPort), "empmon_processor_last_commit_age_seconds")
                #expect((age ?? 0) > 10, "the last commit's age grows while stalled: \(age ?? -1)")
            }

            // The network comes back after a while; PostgreSQL was never touched.
            try await Task.sleep(until: cutAt + .seconds(probe.seconds))
            blackhole.restore()
            let restoredAt = ContinuousClock.now
            let stored = try await waitUntil(60) {
                try await pipeline.query(
                    "SELECT count(*)::int FROM person_ledger WHERE unit_code = ANY($1::text[])", [PostgresArray(units)],
                    as: Int.self)
                    == [30 * units.count]
            }
            #expect(stored, "commits did not resume within 60 s: \(logText(0).suffix(2000))")
            print(
                "partition test (\(probe.seconds) s, \(probe.processors) processor(s)): error named \(named ? "within 30 s" : "late"), commits resumed \(ContinuousClock.now - restoredAt) after the network returned"
            )
            for processor in processors {
                #expect(try await waitUntil(30) { await healthStatus(port: processor.metricsPort) == 200 })
            }
            let verify = try pipeline.run(["verify", "--period", month])
            #expect(verify.status == 0, "\(verify.output)")
        }
    }
}
