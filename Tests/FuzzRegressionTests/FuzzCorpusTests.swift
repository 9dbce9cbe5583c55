import DevStack
import Domain
import Foundation
import Fuzzing
import Processor
import Testing
import TopologyFiles

/// The fuzz targets' seed corpus and every input a fuzzer once crashed on, replayed through the same entry points
/// on each test run. `scripts/fuzz.sh` searches for new ones; this keeps the ones found.
@Suite("Fuzzed inputs stay harmless")
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let harness: FuzzHarness? = try? FuzzHarness(
        topology: TopologyFiles(directory: root.appendingPathComponent("Topology").path).loadTopology())

    static func inputs(_ target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
        ["Fuzz/corpus", "Fuzz/regressions"].flatMap { folder -> [(name: String, bytes: [UInt8])] in
            let directory = root.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.sorted().compactMap { name in
                FileManager.default.contents(atPath: directory.appendingPathComponent(name).path).map {
                    (folder + "/" + name, Array($0))
                }
            }
        }
    }

    @Test("Each target's corpus and regressions replay without a crash", arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) throws {
        let harness = try #require(Self.harness)
        let inputs = Self.inputs(target)
        #expect(inputs.count >= 2, "every target has a committed seed corpus")
        for input in inputs { harness.run(target, input.bytes) }
    }

    /// A seed the checks reject at once teaches the fuzzer nothing about what lies behind them.
    @Test("The committed intake seeds pass the city's checks, and the re-signed committed ones do too")
    func intakeSeedsReachTheChecks() throws {
        let harness = try #require(Self.harness)
        let seeds = Self.inputs(.intake).filter { $0.name.hasPrefix("Fuzz/corpus") }
        #expect(seeds.count == 6)
        for seed in seeds {
            let verdict = harness.examine(seed.bytes)
            if case .rejected(let rejection) = verdict {
                Issue.record("\(seed.name) was rejected: \(rejection.problems)")
            }
        }
        var tampered = try #require(seeds.first { $0.name.hasSuffix("person") }).bytes
        tampered[1] &= ~0x4  // no re-signing
        tampered[tampered.count - 40] ^= 0xFF
        guard case .rejected = harness.examine(tampered) else {
            Issue.record("a changed byte under the signature was accepted")
            return
        }
    }

    @Test("A model name too short for ETS is a usage error (exit 64), not a crash")
    func shortModelNameIsAUsageError() throws {
        let binary = try #require(ProcessInfo.processInfo.environment["EMPMON_BINARY"])
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString).csv")
        try Data("unit,period,value\n140400000000,2024-01,1\n".utf8).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        for model in ["A", "", "ETS(", "AAdAx"] {
            let run = try ChildProcess.run(binary, ["forecast", "--input", input.path, "--model", model])
            #expect(run.status == 64, "--model '\(model)': exit \(run.status): \(run.output)")
            #expect(run.output.contains("--model"))
        }
    }
}
