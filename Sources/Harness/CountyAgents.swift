import Agent
import Domain
import Foundation
import Postgres
import Simulator
import Storage

/// One agent per county, as the counties' service centres run them: enrolled in `registry`, each with its
/// credentials file and its home (spool) under `root`. Used by the demo and the city bench.
package func enrollCountyAgents(
    topology: Topology, registry: AgentRegistry, kafkaBootstrap: String, root: String, note: String
) async throws -> [DivisionCode: AgentWorkspace] {
    try? FileManager.default.removeItem(atPath: root)
    try FileManager.default.createDirectory(
        atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    var agents: [DivisionCode: AgentWorkspace] = [:]
    for county in topology.children(of: topology.city.code) {
        // The counties' agents run on the city's side here: their keys are made beside them and registered at once.
        let key = AgentSigningKey()
        let credentials = try await registry.enroll(
            unit: county, name: "\(county.name)就业服务中心（\(note)）", kafkaBootstrap: kafkaBootstrap,
            publicKey: key.publicKey)
        let file = root + "/\(county.code).credentials.json"
        // The credentials hold the city's pseudonymization key: readable by this user only, as `agent enroll`
        // writes them.
        guard
            FileManager.default.createFile(
                atPath: file, contents: try JSONEncoder().encode(credentials), attributes: [.posixPermissions: 0o600])
        else { throw AgentError("cannot write \(file)") }
        agents[county.code] = try AgentWorkspace.initialize(
            home: root + "/\(county.code)", credentialsFile: file, durable: false, registeredKey: key)
    }
    return agents
}

/// Sends one simulated file through `workspace`'s submit path, as a clerk's file would go: the month from the
/// file's path, invalid rows skipped, no missing-persons note (bulk publishers never correct).
package func submitSimulated(
    _ file: SimulatedMonth.File, through workspace: AgentWorkspace, topology: Topology, reportedAt: Int64? = nil
) throws -> AgentWorkspace.SubmitReport {
    let period = Period(String(file.path.split(separator: "/")[1])) ?? .earliest
    let latest = Period(year: 9999, month: 12) ?? .earliest
    return file.kind == "activity"
        ? try workspace.submitActivity(
            file: file.path, bytes: Array(file.contents.utf8), period: period, unit: file.unit, topology: topology,
            latestPeriod: latest, reportedAt: reportedAt)
        : try workspace.submitPersons(
            file: file.path, bytes: Array(file.contents.utf8), period: period, unit: file.unit, topology: topology,
            latestPeriod: latest, skipInvalid: true, reportMissing: false, reportedAt: reportedAt)
}

/// Sends one simulated file through its county's agent; returns the records spooled.
package func submitThroughCountyAgent(
    _ file: SimulatedMonth.File, agents: [DivisionCode: AgentWorkspace], topology: Topology
) throws -> Int {
    guard let county = file.unit.ancestor(at: .county), let workspace = agents[county] else { return 0 }
    return try submitSimulated(file, through: workspace, topology: topology).spooled
}

/// Stored non-zero indicator values of the simulated months that differ from the simulator's ground truth
/// (`ground-truth.csv`: unit,period,indicator,value; absent means zero), counted both ways.
package func groundTruthDifferences(csv: String, database: PostgresClient) async throws -> Int {
    let truth = Set(csv.split(separator: "\n").dropFirst().map(String.init))
    let months = Set(truth.compactMap { $0.split(separator: ",").dropFirst().first.map(String.init) })
    let stored = try await database.withConnection { connection in
        try await connection.query(
            "SELECT unit_code || ',' || to_char(period, 'YYYY-MM') || ',' || indicator || ',' || value FROM indicator_values WHERE value <> 0"
        ).map { try $0.decode(String.self, at: 0) }
    }
    let relevant = Set(
        stored.filter { line in
            line.split(separator: ",").dropFirst().first.map { months.contains(String($0)) } ?? false
        })
    return relevant.symmetricDifference(truth).count
}
