import DevStack
import Foundation
import Testing
import Yams

/// The files under Deploy/ are valid: YAML documents parse, properties lines are key=value, systemd units
/// pass `systemd-analyze verify`.
@Suite struct DeployFilesTests {
    static let root = URL(fileURLWithPath: AlertFixture.topologyPath()).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Deploy")

    static func files(_ suffixes: [String]) throws -> [URL] {
        let enumerator = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
        return enumerator.compactMap { $0 as? URL }.filter { url in
            suffixes.contains { url.lastPathComponent.hasSuffix($0) }
        }.sorted { $0.path < $1.path }
    }

    @Test func yamlDocumentsParse() throws {
        let files = try Self.files([".yaml", ".yml"])
        #expect(files.count >= 6)
        var kinds: [String] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for document in try Yams.load_all(yaml: text) {
                let object = try #require(
                    document as? [String: Any], "\(file.lastPathComponent): a document is not a mapping")
                kinds.append(object["kind"] as? String ?? "")
                #expect(object["apiVersion"] is String, "\(file.lastPathComponent)")
            }
        }
        for kind in [
            "Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Cluster", "ScheduledBackup", "Deployment",
            "ScaledObject", "Service",
        ] {
            #expect(kinds.contains(kind), "no \(kind) in Deploy/kubernetes")
        }
    }

    @Test func propertiesAreKeyValueLines() throws {
        let files = try Self.files([".properties"])
        #expect(files.count >= 4)
        for file in files {
            var keys: Set<String> = []
            for (index, line) in try String(contentsOf: file, encoding: .utf8).split(separator: "\n").enumerated() {
                let text = line.trimmingCharacters(in: .whitespaces)
                if text.isEmpty || text.hasPrefix("#") { continue }
                let parts = text.split(separator: "=", maxSplits: 1)
                #expect(
                    parts.count == 2 && !parts[0].isEmpty,
                    "\(file.lastPathComponent):\(index + 1): '\(text)' is not key=value")
                #expect(
                    keys.insert(String(parts[0])).inserted,
                    "\(file.lastPathComponent):\(index + 1): \(parts[0]) set twice")
            }
        }
    }

    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze"))
    func systemdUnitsVerify() throws {
        let analyzer = "/usr/bin/systemd-analyze"
        let binary = try #require(ProcessInfo.processInfo.environment["EMPMON_BINARY"])
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("empmon-units-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        var units: [String] = []
        // The units name the installed paths; verify them against this checkout's binary and scripts.
        for file in try Self.files([".service", ".timer"]) {
            let text = try String(contentsOf: file, encoding: .utf8)
                .replacingOccurrences(of: "/opt/empmon/bin/empmon", with: binary)
                .replacingOccurrences(of: "/opt/empmon/deploy/", with: Self.root.path + "/")
            let copy = scratch.appendingPathComponent(file.lastPathComponent)
            try text.write(to: copy, atomically: true, encoding: .utf8)
            units.append(copy.path)
        }
        #expect(units.count >= 6)
        let result = try ChildProcess.run(analyzer, ["verify"] + units)
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("Unknown") && !result.output.contains("Failed"), "\(result.output)")
        try? FileManager.default.removeItem(at: scratch)
    }
}
