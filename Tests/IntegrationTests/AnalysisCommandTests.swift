import DevStack
import Foundation
import Ledger
import Postgres
import Testing

/// Where tests leave files for people to look at (the report's screenshot).
func artifactsDirectory() throws -> URL {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent(".build/test-artifacts")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

func json(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8))
}

/// Forecasting and backtesting files, no services needed beyond the binary.
@Suite struct ForecastFileTests {
    /// Four years of two counties from the simulator, as ground truth (unit,period,indicator,value).
    static let simulated: Result<String, any Error> = Result {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("empmon-backtest-\(UUID().uuidString)")
            .path
        let run = try empmon([
            "simulate", "--months", "48", "--scale", "0.0065", "--seed", "7", "--counties", "140403000000,140427000000",
            "--out", out,
        ])
        guard run.status == 0 else { throw DevStackError("simulate failed: \(run.output.suffix(500))") }
        return out + "/ground-truth.csv"
    }

    @Test func backtestBeatsSeasonalNaiveOnTheSimulatorsData() throws {
        let truth = try Self.simulated.get()
        for indicator in ["employed", "labour_force"] {
            // stdout alone: the notes on series too short to fit go to stderr, and would interleave with the JSON.
            let binary = try #require(ProcessInfo.processInfo.environment["EMPMON_BINARY"])
            let run = try ChildProcess.run(
                "/bin/sh",
                [
                    "-c",
                    "'\(binary)' backtest --input '\(truth)' --indicator \(indicator) --missing-as-zero --holdout 12 --format json 2>/dev/null",
                ])
            #expect(run.status == 0, "\(run.output.suffix(500))")
            let output = try #require(try json(String(run.output.drop { $0 != "{" })) as? [String: Any])
            let overall = try #require(output["overall"] as? [String: Any])
            let mase = try #require(overall["mase"] as? Double)
            let naive = try #require(overall["snaive_mase"] as? Double)
            let series = try #require(output["series"] as? [[String: Any]])
            #expect(series.count > 20, "\(indicator): \(series.count) series")
            #expect(mase < naive, "\(indicator): MASE \(mase) vs seasonal naive \(naive)")
        }
    }

    @Test func hierarchicalForecastOfAFileAddsUpExactly() throws {
        let truth = try Self.simulated.get()
        // Long format with the parent column, from the ground truth's employed counts of the city, counties and townships.
        var rows = ["unit,period,value,parent"]
        for line in try String(contentsOfFile: truth, encoding: .utf8).split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",").map(String.init)
            guard fields[2] == "employed", fields[0].hasSuffix("000") else { continue }
            let unit = fields[0]
            let parent =
                unit == "140400000000"
                ? "" : unit.hasSuffix("000000") ? "140400000000" : String(unit.prefix(6)) + "000000"
            rows.append("\(unit),\(fields[1]),\(fields[3]),\(parent)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-forecast-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let input = directory.appendingPathComponent("employed.csv").path
        let output = directory.appendingPathComponent("forecast.csv").path
        try rows.joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let run = try empmon(["forecast", "--input", input, "--horizon", "6", "--output", output])
        #expect(run.status == 0, "\(run.output.suffix(500))")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == "unit,period,mean,lo80,hi80,lo95,hi95")
        var mean: [String: [String: Double]] = [:]
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",").map(String.init)
            let numbers = fields.dropFirst(2).compactMap(Double.init)
            #expect(
                numbers.count == 5 && numbers[3] <= numbers[1] && numbers[1] <= numbers[0] && numbers[0] <= numbers[2]
                    && numbers[2] <= numbers[4], "\(line)")
            mean[fields[0], default: [:]][fields[1]] = numbers.first
        }
        let units = Set(rows.dropFirst().map { String($0.split(separator: ",")[0]) })
        #expect(Set(mean.keys) == units)
        let periods = Set(mean.values.flatMap(\.keys))
        #expect(periods.count == 6)
        for parent in units where parent.hasSuffix("000000") {
            let children = units.filter { child in
                child != parent
                    && (parent == "140400000000"
                        ? child.hasSuffix("000000")
                        : child.hasPrefix(String(parent.prefix(6))) && !child.hasSuffix("000000"))
            }.sorted()
            guard !children.isEmpty else { continue }
            for period in periods {
                // Summed in the order the forecaster adds children (by name): exactly equal, not just close.
                let sum = children.reduce(0.0) { $0 + (mean[$1]?[period] ?? .nan) }
                #expect(mean[parent]?[period] == sum, "\(parent) \(period)")
            }
        }
    }

    @Test func badForecastInputIsNamedByLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("empmon-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let input = directory.appendingPathComponent("bad.csv").path
        try "unit,period,value\na,2024-01,3\na,2024-13,4\nb,2024-01,x\n".write(
            toFile: input, atomically: true, encoding: .utf8)
        let run = try empmon(["forecast", "--input", input, "--horizon", "3"])
        #expect(run.status != 0)
        #expect(
            run.output.contains("line 3") && run.output.contains("2024-13") && run.output.contains("line 4"),
            "\(run.output)")
    }
}

extension SharedStackTests {
    @Test func analysisOnProcessedRecords() async throws {
        try await Pipeline.with { pipeline in
            _ = try await pipeline.simulate(seed: 31, months: 6)
            _ = try pipeline.processAll()
            let county = "140403000000"

            // The processor evaluated the shipped rules after its commits: every village that has not reported June
            // (the last month reported) has a firing missing-reports alert, and no other village has one.
            let silent = try await pipeline.query(
                "SELECT unit_code::text FROM unit_month_counts WHERE period = '2024-06-01' AND unit_code NOT LIKE '%000' AND expected_units > 0 AND reporting_units = 0 ORDER BY 1",
                as: String.self)
            let alerted = try await pipeline.query(
                "SELECT unit_code::text FROM alerts WHERE rule_id = 'village-reports-missing' AND state = 'firing' ORDER BY 1",
                as: String.self)
            #expect(!silent.isEmpty && alerted == silent, "\(alerted.count) alerts for \(silent.count) silent villages")

            // The situation table agrees with the stored counts.
            let situation = try pipeline.run([
                "query", "situation", "--tier", "county", "--period", "2024-06", "--indicator", "employed", "--format",
                "json",
            ])
            #expect(situation.status == 0, "\(situation.output.suffix(500))")
            let table = try #require(try json(situation.output) as? [String: Any])
            let rows = try #require(table["rows"] as? [[String: Any]])
            #expect(rows.count == 12)
            let row = try #require(rows.first { $0["unit"] as? String == county })
            let stored = try await pipeline.query(
                "SELECT value FROM indicator_values WHERE unit_code = $1 AND indicator = 'employed' AND period = '2024-06-01'",
                [county], as: Int64.self)
            #expect(row["value"] as? Double == Double(stored.first ?? -1))
            let may = try await pipeline.query(
                "SELECT value FROM indicator_values WHERE unit_code = $1 AND indicator = 'employed' AND period = '2024-05-01'",
                [county], as: Int64.self)
            #expect(row["monthOnMonth"] as? Double == Double((stored.first ?? 0) - (may.first ?? 0)))
            #expect(row["rank"] as? Int != nil && row["status"] as? String == "revised")
            // The same table for Excel: CSV with a byte-order mark, and a workbook whose codes are text cells and
            // whose figures are number cells, equal to the JSON's.
            // Through a shell's redirection: decoding the output as a String would drop the mark being checked.
            let csvPath = pipeline.directory.appendingPathComponent("situation.csv").path
            let binary = try #require(ProcessInfo.processInfo.environment["EMPMON_BINARY"])
            let excelCSV = try ChildProcess.run(
                "/bin/sh",
                [
                    "-c",
                    "\"$0\" query situation --tier county --period 2024-06 --indicator employed --format csv-excel > \"$1\"",
                    binary, csvPath,
                ], environment: ProcessInfo.processInfo.environment.merging(pipeline.environment) { $1 })
            #expect(excelCSV.status == 0, "\(excelCSV.output)")
            let csvBytes = Array(try Data(contentsOf: URL(fileURLWithPath: csvPath)))
            #expect(csvBytes.starts(with: [0xEF, 0xBB, 0xBF] + Array("unit,name,employed,".utf8)))
            let workbookPath = pipeline.directory.appendingPathComponent("situation.xlsx").path
            let written = try pipeline.run([
                "query", "situation", "--tier", "county", "--period", "2024-06", "--indicator", "employed", "--format",
                "xlsx", "--out", workbookPath,
            ])
            #expect(written.status == 0, "\(written.output)")
            let sheet = try Workbook.firstSheet(Array(try Data(contentsOf: URL(fileURLWithPath: workbookPath))))
            #expect(sheet.count == 2 + 12 && sheet[1].cells[0]?.text == "unit")
            let countyRow = try #require(sheet.first { $0.cells[0]?.text == county })
            #expect(countyRow.cells[0]?.isNumber == false && countyRow.cells[2]?.isNumber == true)
            #expect(Double(countyRow.cells[2]?.text ?? "") == row["value"] as? Double, "\(countyRow)")
            let noFile = try pipeline.run([
                "query", "situation", "--tier", "county", "--period", "2024-06", "--format", "xlsx",
            ])
            #expect(noFile.status != 0 && noFile.output.contains("--out"), "\(noFile.output)")

            let newUrban = try await pipeline.query(
                "SELECT coalesce(sum(value), 0)::bigint FROM indicator_values WHERE unit_code = $1 AND indicator = 'new_urban_employment' AND period <= '2024-06-01'",
                [county], as: Int64.self)
            let ytd = try pipeline.run([
                "query", "situation", "--tier", "county", "--period", "2024-06", "--format", "json",
            ])
            let ytdRows = try #require((try json(ytd.output) as? [String: Any])?["rows"] as? [[String: Any]])
            #expect(
                ytdRows.first { $0["unit"] as? String == county }?["yearToDate"] as? Double
                    == Double(newUrban.first ?? -1))

            // The series and its figures as they stood before anything was processed, and as of now.
            let series = try pipeline.run([
                "query", "series", "--unit", county, "--indicator", "employed", "--from", "2024-01", "--to", "2024-06",
                "--format", "json",
            ])
            let points = try #require((try json(series.output) as? [String: Any])?["points"] as? [[String: Any]])
            #expect(points.count == 6 && points.last?["value"] as? Double == Double(stored.first ?? -1))
            let before = try pipeline.run([
                "query", "series", "--unit", county, "--indicator", "employed", "--from", "2024-01", "--to", "2024-06",
                "--format", "json", "--as-of", "2020-01-01",
            ])
            let pointsBefore = try #require((try json(before.output) as? [String: Any])?["points"] as? [[String: Any]])
            #expect(pointsBefore.allSatisfy { ($0["value"] as? Double ?? 0) == 0 })
            let moment = ISO8601DateFormatter().string(from: Date())
            try await Task.sleep(for: .seconds(1))

            // More records for the same months revise them; as of the earlier moment the old figures stand.
            _ = try await pipeline.simulate(seed: 32, months: 3)
            _ = try pipeline.processAll()
            let revised = try pipeline.run([
                "query", "series", "--unit", county, "--indicator", "employed", "--from", "2024-01", "--to", "2024-06",
                "--format", "json",
            ])
            let asOf = try pipeline.run([
                "query", "series", "--unit", county, "--indicator", "employed", "--from", "2024-01", "--to", "2024-06",
                "--format", "json", "--as-of", moment,
            ])
            let revisedPoints = try #require(
                (try json(revised.output) as? [String: Any])?["points"] as? [[String: Any]])
            let asOfPoints = try #require((try json(asOf.output) as? [String: Any])?["points"] as? [[String: Any]])
            #expect(revisedPoints.first?["value"] as? Double != points.first?["value"] as? Double)
            #expect(asOfPoints.map { $0["value"] as? Double } == points.map { $0["value"] as? Double })

            // Forecasts for the whole topology are stored and add up across the tiers.
            let forecast = try pipeline.run(["forecast", "--indicator", "employed", "--horizon", "3"])
            #expect(forecast.status == 0, "\(forecast.output.suffix(500))")
            let incoherent = try await pipeline.query(
                """
                SELECT count(*)::bigint FROM forecasts AS p
                JOIN (SELECT run_id, period, CASE WHEN unit_code LIKE '%000000' THEN '140400000000'
                             WHEN unit_code LIKE '%000' THEN substr(unit_code, 1, 6) || '000000'
                             ELSE substr(unit_code, 1, 9) || '000' END AS parent, sum(mean) AS total
                      FROM forecasts WHERE unit_code <> '140400000000' GROUP BY 1, 2, 3) AS c
                  ON c.run_id = p.run_id AND c.period = p.period AND c.parent = p.unit_code
                WHERE abs(p.mean - c.total) > 1e-6 * greatest(1, abs(p.mean))
                """, as: Int64.self)
            #expect(incoherent.first == 0)
            let stored3 = try await pipeline.query(
                "SELECT count(DISTINCT period)::bigint FROM forecasts", as: Int64.self)
            #expect(stored3.first == 3)

            // The month's report renders, and headless Chromium turns it into a PNG a person can read.
            let html = try artifactsDirectory().appendingPathComponent("report.html").path
            let report = try pipeline.run([
                "report", "--period", "2024-06", "--out", html, "--target-scale", "0.002", "--pdf",
            ])
            #expect(report.status == 0, "\(report.output.suffix(500))")
            // --pdf prints it to A4 beside the page: every page A4 (poppler's pdfinfo reads it back), the title's text
            // on page 1, and page 1 kept as a PNG a person can look at.
            let pdf = String(html.dropLast(5)) + ".pdf"
            let info = try ChildProcess.run("/usr/bin/pdfinfo", ["-f", "1", "-l", "99", pdf])
            #expect(info.status == 0, "\(info.output)")
            let sizes = info.output.split(separator: "\n").filter { $0.hasPrefix("Page ") && $0.contains(" size:") }
            #expect(sizes.count >= 3 && sizes.allSatisfy { $0.hasSuffix("pts (A4)") }, "\(info.output)")
            let firstPage = try ChildProcess.run("/usr/bin/pdftotext", ["-f", "1", "-l", "1", pdf, "-"])
            #expect(firstPage.output.contains("长治市就业形势分析（2024年6月）"), "\(firstPage.output.prefix(300))")
            let pagePNG = try artifactsDirectory().appendingPathComponent("report-page1").path
            let render = try ChildProcess.run(
                "/usr/bin/pdftoppm", ["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", pdf, pagePNG])
            #expect(render.status == 0 && FileManager.default.fileExists(atPath: pagePNG + ".png"), "\(render.output)")
            let page = try String(contentsOfFile: html, encoding: .utf8)
            #expect(page.contains("长治市就业形势分析（2024年6月）") && page.contains("潞州区") && page.contains("<svg"))
            // The appendix counts the villages and their data-quality flags as `empmon quality` does.
            let qualityRun = try pipeline.run(["quality", "--period", "2024-06", "--format", "json"])
            let quality = try #require(
                try JSONSerialization.jsonObject(with: Data(qualityRun.output.utf8)) as? [String: Any])
            let assessed = try #require(quality["villages"] as? [[String: Any]])
            let flaggedVillages = assessed.filter { !($0["flags"] as? [String] ?? []).isEmpty }.count
            #expect(!assessed.isEmpty)
            #expect(
                page.contains("附：数据质量")
                    && page.contains("本月已报送村（社区）\(assessed.count) 个，其中 \(flaggedVillages) 个有数据质量问题"))
            // The firing alerts as a workbook: one row each under the title and the header, as the JSON lists them.
            let alertsJSON = try pipeline.run([
                "alerts", "list", "--state", "firing", "--limit", "10000", "--format", "json",
            ])
            let listed = try #require(try JSONSerialization.jsonObject(with: Data(alertsJSON.output.utf8)) as? [Any])
            let alertsBook = pipeline.directory.appendingPathComponent("alerts.xlsx").path
            let alertsOut = try pipeline.run([
                "alerts", "list", "--state", "firing", "--limit", "10000", "--format", "xlsx", "--out", alertsBook,
            ])
            #expect(alertsOut.status == 0, "\(alertsOut.output)")
            let alertSheet = try Workbook.firstSheet(Array(try Data(contentsOf: URL(fileURLWithPath: alertsBook))))
            #expect(
                !listed.isEmpty && alertSheet.count == 2 + listed.count,
                "\(alertSheet.count) rows, \(listed.count) alerts")
            #expect(
                alertSheet[1].cells[0]?.text == "id"
                    && alertSheet.dropFirst(2).allSatisfy { $0.cells[4]?.isNumber == false })
            // The county map of target progress: twelve outlines, each coloured or grey, each with its name.
            let outlines = page.components(separatedBy: "<path d=\"M").dropFirst()
            #expect(outlines.count == 12)
            #expect(page.contains("各县区年度目标完成进度分布"))
            #expect(outlines.allSatisfy { $0.contains("fill=\"#") && $0.contains("<title>") })
            let png = try artifactsDirectory().appendingPathComponent("report.png").path
            try? FileManager.default.removeItem(atPath: png)
            let chromium = try ChildProcess.run(
                "/usr/bin/chromium",
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--screenshot=\(png)",
                    "--window-size=900,2600", "file://\(html)",
                ])
            #expect(chromium.status == 0, "\(chromium.output.suffix(500))")
            let bytes = try #require(FileManager.default.contents(atPath: png))
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
            let height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width == 900 && height == 2600)
            #expect(
                bytes.count > 100_000, "a blank page compresses to a few kilobytes; this one is \(bytes.count) bytes")
        }
    }
}
