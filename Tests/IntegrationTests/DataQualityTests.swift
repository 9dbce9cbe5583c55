import Domain
import Foundation
import Testing

/// A month of the data-quality view, as `empmon quality --format json` prints it.
private struct QualityJSON: Decodable {
    struct Village: Decodable {
        let unit: String
        let persons: Int
        let flags: [String]
        let score: Int
        let correctedStatuses: Int
        let unchangedChance: Double?
        let doubleReports: [VillageMonthMeasure.DoubleReport]
    }
    let period: String
    let changeRate: Double
    let villages: [Village]
}

extension Pipeline {
    /// Simulates through a city agent with each ledger stamped with its scheduled day; returns the faults injected.
    fileprivate func simulateStamped(_ arguments: [String], seed: Int) async throws -> [String] {
        let city = try await agent(for: "140400000000")
        let out = directory.appendingPathComponent("quality-\(seed)").path
        let run = try empmon(
            [
                "simulate", "--seed", String(seed), "--publish", "--stamp-schedule", "--agent-home", city.home, "--out",
                out,
            ]
                + arguments)
        #expect(run.status == 0, "\(run.output.suffix(800))")
        _ = try processAll()
        let faults = try String(contentsOfFile: out + "/faults.csv", encoding: .utf8)
        return faults.split(separator: "\n").dropFirst().map(String.init)
    }

    fileprivate func quality(_ period: String) throws -> QualityJSON {
        let result = try run(["quality", "--period", period, "--format", "json"])
        #expect(result.status == 0, "\(result.output.suffix(800))")
        // The JSON is the output's last part: the lines before it are the library's logs, if any.
        let start = try #require(result.output.firstIndex(of: "{"))
        return try JSONDecoder().decode(QualityJSON.self, from: Data(result.output[start...].utf8))
    }
}

extension SharedStackTests {
    @Test("A clean simulated year through agents and the processor: the data-quality view flags nothing in any month")
    func cleanYearHasNoQualityFlags() async throws {
        try await Pipeline.with { pipeline in
            let faults = try await pipeline.simulateStamped(
                ["--months", "12", "--scale", "0.002", "--counties", "140403000000,140427000000"], seed: 41)
            #expect(faults.isEmpty)
            var assessed = 0
            for month in 1...12 {
                let period = "2024-" + String(month).leftPadded(to: 2)
                let table = try pipeline.quality(period)
                assessed += table.villages.count
                let flagged = table.villages.filter { !$0.flags.isEmpty }.map { "\($0.unit) \($0.flags)" }
                #expect(flagged.isEmpty, "\(period): \(flagged)")
                #expect(table.villages.allSatisfy { $0.score == 100 })
            }
            #expect(assessed > 12 * 50, "villages assessed over the year: \(assessed)")
        }
    }

    @Test(
        "Injected faults (late, copied forward, double reported) are each found at their village and month, and nothing else is flagged"
    )
    func injectedQualityFaultsAreFound() async throws {
        try await Pipeline.with { pipeline in
            let faults = try await pipeline.simulateStamped(
                [
                    "--months", "2", "--scale", "0.02", "--counties", "140403000000", "--late", "0.04",
                    "--corrections", "0.04", "--copy-forward", "0.3", "--double-report", "0.04",
                ], seed: 43)
            let injected = Set(
                faults.map { line in
                    let cells = line.split(separator: ",").map(String.init)
                    return "\(cells[0]) \(cells[1]) \(cells[2])"
                })
            for signal in ["late", "copied_forward", "double_reported"] {
                #expect(injected.contains { $0.hasSuffix(" " + signal) }, "no \(signal) fault was injected")
            }
            var found: Set<String> = []
            var detectableCopies = 0
            for period in ["2024-01", "2024-02"] {
                let table = try pipeline.quality(period)
                #expect(table.changeRate > 0.01 || period == "2024-01")
                for village in table.villages {
                    for flag in village.flags { found.insert("\(period) \(village.unit) \(flag)") }
                    // A copied ledger of this size is below the chance threshold at this month's rate: it must be found.
                    if injected.contains("\(period) \(village.unit) copied_forward"),
                        let chance = village.unchangedChance, chance < 0.001
                    {
                        detectableCopies += 1
                        #expect(village.flags.contains("copied_forward"), "\(period) \(village.unit)")
                    }
                }
            }
            // Nothing is flagged that was not injected.
            #expect(
                found.subtracting(injected).isEmpty, "flagged, not injected: \(found.subtracting(injected).sorted())")
            // Every fault of the signals that need no chance is found; copies only where a change would be expected.
            let missed = injected.subtracting(found).filter { !$0.hasSuffix("copied_forward") }
            #expect(missed.isEmpty, "injected, not flagged: \(missed.sorted())")
            #expect(detectableCopies >= 1, "no copied-forward ledger was large enough to be told from a quiet month")
            let copiesFound = found.filter { $0.hasSuffix("copied_forward") }.count
            print(
                "copied-forward ledgers: \(injected.filter { $0.hasSuffix("copied_forward") }.count) injected, \(copiesFound) found, \(detectableCopies) large enough to be found"
            )
        }
    }
}

extension SharedStackTests {
    @Test(
        "Stored records show each signal at its village: a person two villages reported (and which one the ledger kept), a status correction, a refused record, a late month"
    )
    func qualitySignalsFromStoredRecords() async throws {
        try await Pipeline.with { pipeline in
            let agent = try await pipeline.agent(for: "140403000000")
            let first = "140403001001"
            let second = "140403001002"
            let late = "140403001003"
            /// 09:00 China time on a day of November 2024.
            func november(_ day: Int) -> Int64 {
                let date = ChinaTime.calendar.date(from: DateComponents(year: 2024, month: 11, day: day, hour: 9))
                return Int64((date?.timeIntervalSince1970 ?? 0) * 1000)
            }
            func signed(_ key: String, _ unit: String, _ status: EmploymentStatus, day: Int) -> PersonStatusRecord {
                var record = person(
                    key, unit: unit, period: "2024-10", status, agent: agent.agentID, reportedAt: november(day))
                agent.signer.sign(&record)
                return record
            }
            var forged = signed("e", first, .employed, day: 5)
            forged.status = .unemployed  // changed after signing: refused as forged, and counted against its village
            try await produce(
                [
                    signed("a", first, .employed, day: 5), signed("b", first, .employed, day: 5),
                    signed("c", first, .unemployed, day: 5), signed("d", second, .employed, day: 6),
                    // The second village reports the first's person "a" a day later: the ledger keeps its record.
                    signed("a", second, .employed, day: 6), signed("f", late, .employed, day: 15), forged,
                ].map { try message($0) })
            _ = try pipeline.processAll()
            // The first village corrects "b" three days later.
            try await produce([try message(signed("b", first, .unemployed, day: 8))])
            _ = try pipeline.processAll()

            let table = try pipeline.quality("2024-10")
            let villages = Dictionary(uniqueKeysWithValues: table.villages.map { ($0.unit, $0) })
            let one = try #require(villages[first])
            let two = try #require(villages[second])
            let three = try #require(villages[late])
            #expect(one.flags == ["corrected", "double_reported", "rejected"], "\(one.flags)")
            #expect(one.correctedStatuses == 1)
            #expect(one.doubleReports == [.init(otherVillage: second, persons: 1, keptHere: 0)])
            #expect(one.persons == 2, "a is the second village's now")
            #expect(two.flags == ["double_reported"], "\(two.flags)")
            #expect(two.doubleReports == [.init(otherVillage: first, persons: 1, keptHere: 1)])
            #expect(three.flags == ["late"] && three.score == 85, "\(three.flags) \(three.score)")
            #expect(table.villages.count == 3)

            // The table as a workbook's rows, through the CLI: the same flags.
            let csv = try pipeline.run(["quality", "--period", "2024-10", "--format", "csv", "--flagged"])
            #expect(csv.status == 0)
            let lines = csv.output.split(separator: "\n").filter { $0.hasPrefix("1404") }
            #expect(lines.count == 3)
            #expect(lines.contains { $0.hasPrefix(first) && $0.contains("corrected|double_reported|rejected") })

            // A quality_score rule fires for the village whose score is under its line, and for no other.
            let rules = pipeline.directory.appendingPathComponent("quality-alerts.yaml")
            try Data(
                """
                rules:
                  - id: quality-low
                    kind: quality_score
                    tiers: [village]
                    below: \(one.score + 1)
                    severity: info
                """.utf8
            ).write(to: rules)
            let evaluation = try pipeline.run(["alerts", "eval", "--rules", rules.path])
            #expect(evaluation.status == 0, "\(evaluation.output.suffix(600))")
            let firing = try await pipeline.query(
                "SELECT unit_code || ' ' || to_char(last_period, 'YYYY-MM') || ' ' || value::int FROM alerts WHERE state = 'firing' AND rule_id = 'quality-low'",
                as: String.self)
            #expect(firing == ["\(first) 2024-10 \(one.score)"], "\(firing)")
        }
    }
}
