import Domain
import Foundation

/// The project's `Topology/` folder: the division list, topic definitions and annual targets.
public struct TopologyFiles: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// `explicit` (the caller's configuration: `empmon` passes `$EMPMON_TOPOLOGY`), else the nearest `Topology/`
    /// folder holding the division list at or above the working directory, else the one beside the executable's
    /// package.
    public static func locate(explicit: String? = nil) throws -> TopologyFiles {
        if let explicit, !explicit.isEmpty {
            return TopologyFiles(directory: explicit)
        }
        var starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
        }
        for start in starts {
            var directory = start
            while directory.path != "/" {
                let candidate = directory.appendingPathComponent("Topology")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(divisionsFile).path) {
                    return TopologyFiles(directory: candidate.path)
                }
                directory.deleteLastPathComponent()
            }
        }
        throw TopologyFilesError("no Topology/\(divisionsFile) found from \(FileManager.default.currentDirectoryPath) upwards; set EMPMON_TOPOLOGY")
    }

    static let divisionsFile = "changzhi-divisions.csv"

    public func loadTopology() throws -> Topology {
        let path = directory + "/" + Self.divisionsFile
        guard let data = FileManager.default.contents(atPath: path) else { throw TopologyFilesError("cannot read \(path)") }
        do {
            return try Topology(csv: String(decoding: data, as: UTF8.self))
        } catch {
            throw TopologyFilesError("\(path): \(error)")
        }
    }

    /// The alert rules file (read by the Alerting module).
    public var alertRulesPath: String { directory + "/alerts.yaml" }

    public func loadTopics() throws -> TopicDefinitions {
        try decode(TopicDefinitions.self, from: "topics.json")
    }

    public func loadTargets() throws -> AnnualTargets {
        let targets = try decode(AnnualTargets.self, from: "targets.json")
        for id in targets.targets.keys where IndicatorCatalogue.indicator(IndicatorID(rawValue: id)) == nil {
            throw TopologyFilesError("targets.json names '\(id)', which is not an indicator of the catalogue")
        }
        return targets
    }

    private func decode<T: Decodable>(_ type: T.Type, from file: String) throws -> T {
        let path = directory + "/" + file
        guard let data = FileManager.default.contents(atPath: path) else { throw TopologyFilesError("cannot read \(path)") }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw TopologyFilesError("\(path) is not valid: \(error)")
        }
    }
}

public struct TopicDefinitions: Decodable, Sendable {
    public struct Production: Decodable, Sendable {
        public let replicationFactor: Int32
        public let minInsyncReplicas: Int
    }

    public struct Topic: Decodable, Sendable {
        public let name: String
        public let partitions: Int32
        public let key: String
        public let configs: [String: String]
        public let purpose: String
    }

    public let production: Production
    public let topics: [Topic]
}

public struct AnnualTargets: Decodable, Sendable {
    public let year: Int
    public let unit: DivisionCode
    public let targets: [String: Double]
}

public struct TopologyFilesError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
