import Domain
import Foundation

/// The project's `Topology/` folder: the division list, topic definitions and annual targets.
package struct TopologyFiles: Sendable {
    package let directory: String

    package init(directory: String) { self.directory = directory }

    /// `explicit` (the caller's configuration: `empmon` passes `$EMPMON_TOPOLOGY`), else the nearest `Topology/`
    /// folder holding the division list at or above the working directory, else the one beside the executable's
    /// package.
    package static func locate(explicit: String? = nil) throws -> TopologyFiles {
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
        throw TopologyFilesError(
            "no Topology/\(divisionsFile) found from \(FileManager.default.currentDirectoryPath) upwards; set EMPMON_TOPOLOGY"
        )
    }

    static let divisionsFile = "changzhi-divisions.csv"

    package func loadTopology() throws -> Topology {
        let path = directory + "/" + Self.divisionsFile
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TopologyFilesError("cannot read \(path)")
        }
        do {
            return try Topology(csv: String(decoding: data, as: UTF8.self))
        } catch {
            throw TopologyFilesError("\(path): \(error)")
        }
    }

    /// The alert rules file (read by the Alerting module).
    package var alertRulesPath: String { directory + "/alerts.yaml" }

    package func loadTopics() throws -> TopicDefinitions {
        try decode(TopicDefinitions.self, from: "topics.json")
    }

    package func loadTargets() throws -> AnnualTargets {
        let targets = try decode(AnnualTargets.self, from: "targets.json")
        for id in targets.targets.keys where IndicatorCatalogue.indicator(IndicatorID(rawValue: id)) == nil {
            throw TopologyFilesError("targets.json names '\(id)', which is not an indicator of the catalogue")
        }
        return targets
    }

    /// The county outlines (`counties.geojson`), checked to be exactly `topology`'s counties; nil when the
    /// folder has none (the maps are then left out), an error when the file is there but wrong.
    package func loadCountyMap(for topology: Topology) throws -> CountyMap? {
        let path = directory + "/counties.geojson"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TopologyFilesError("cannot read \(path)")
        }
        do {
            return try CountyMap(geoJSON: data).checked(against: topology)
        } catch {
            throw TopologyFilesError("\(path): \(error)")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, from file: String) throws -> T {
        let path = directory + "/" + file
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TopologyFilesError("cannot read \(path)")
        }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw TopologyFilesError("\(path) is not valid: \(error)")
        }
    }
}

package struct TopicDefinitions: Decodable, Sendable {
    package struct Production: Decodable, Sendable {
        package let replicationFactor: Int32
        package let minInsyncReplicas: Int
    }

    package struct Topic: Decodable, Sendable {
        package let name: String
        package let partitions: Int32
        package let key: String
        package let configs: [String: String]
        package let purpose: String
    }

    package let production: Production
    package let topics: [Topic]
}

package struct AnnualTargets: Decodable, Sendable {
    package let year: Int
    package let unit: DivisionCode
    package let targets: [String: Double]
}

package struct TopologyFilesError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
