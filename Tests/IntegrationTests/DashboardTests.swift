import Foundation
import Postgres
import TestSupport
import Testing

/// Every SQL query of the Grafana dashboards runs against the migrated schema.
@Suite struct DashboardTests {
    static func dashboards() throws -> [(name: String, json: [String: Any])] {
        let folder = URL(fileURLWithPath: AlertFixture.topologyPath()).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Dashboards")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
            .sorted().map { name in
                let data = try #require(FileManager.default.contents(atPath: folder.appendingPathComponent(name).path))
                return (
                    name,
                    try #require(
                        try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(name) is not a JSON object")
                )
            }
    }

    /// Grafana's macros and variables, replaced the way Grafana expands them for a two-year range.
    static func expand(_ sql: String) -> String {
        sql.replacingOccurrences(
            of: "$__timeFilter(period)", with: "period BETWEEN '2023-01-01T00:00:00Z' AND '2024-12-31T23:59:59Z'"
        )
        .replacingOccurrences(of: "$__timeTo()", with: "'2024-12-31T23:59:59Z'")
        .replacingOccurrences(of: "$county", with: "140403000000")
    }

    @Test func everySQLQueryRunsOnTheMigratedSchema() async throws {
        try await AlertFixture.with { fixture in
            for month in ["2024-01", "2024-02"] {
                try await fixture.put(
                    "140400000000", month,
                    [
                        "labour_force": 400, "employed": 380, "registered_unemployed": 20, "reporting_units": 2,
                        "expected_units": 2, "new_urban_employment": 5,
                    ])
                try await fixture.put(
                    "140403000000", month,
                    [
                        "labour_force": 200, "employed": 190, "registered_unemployed": 10, "reporting_units": 1,
                        "expected_units": 1, "new_urban_employment": 3,
                    ])
                try await fixture.put(
                    "140403001000", month,
                    ["labour_force": 200, "employed": 190, "reporting_units": 1, "expected_units": 1])
            }
            var queries: [(String, String)] = []
            var prometheus = 0
            for (name, dashboard) in try Self.dashboards() {
                #expect(dashboard["uid"] is String && dashboard["title"] is String, "\(name)")
                for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
                    for target in panel["targets"] as? [[String: Any]] ?? [] {
                        if let sql = target["rawSql"] as? String {
                            queries.append(("\(name) · \(panel["title"] ?? "")", sql))
                        }
                        if let expr = target["expr"] as? String, expr.contains("empmon_processor_") { prometheus += 1 }
                    }
                }
                for variable in (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? [] {
                    if let sql = variable["query"] as? String {
                        queries.append(("\(name) · $\(variable["name"] ?? "")", sql))
                    }
                }
            }
            #expect(queries.count >= 10 && prometheus >= 6)
            let connection = try await fixture.database.connect()
            for (label, sql) in queries {
                do {
                    let rows = try await connection.query(Self.expand(sql))
                    if label.contains("各县区本月情况") || label.contains("乡镇") || label.contains("$county")
                        || label.contains("登记失业率")
                    {
                        #expect(rows.count > 0, "\(label) returned no rows on data it should show")
                    }
                } catch {
                    Issue.record("\(label): \(error)")
                }
            }
        }
    }
}
