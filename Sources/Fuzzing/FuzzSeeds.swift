import Domain
import Foundation
import Ledger
import Wire

extension FuzzHarness {
    /// Valid and nearly valid inputs for a target, for its seed corpus (`empmon-fuzz TARGET --write-seeds DIR`): the
    /// fuzzer mutates from these, so that it starts past the first checks.
    package func seeds(for target: FuzzTarget) -> [String: [UInt8]] {
        switch target {
        case .ledger: ledgerSeeds()
        case .intake: intakeSeeds()
        case .alertRules: alertRuleSeeds()
        case .seriesCSV:
            [
                "plain.csv": [0]
                    + Array(
                        "unit,period,value,parent\n140400000000,2024-01,10,\n140403000000,2024-01,10,140400000000\n140400000000,2024-02,12,\n140403000000,2024-02,12,140400000000\n"
                            .utf8),
                "indicator.csv": [1]
                    + Array(
                        "unit,period,indicator,value\n140400000000,2024-01,employed,5\n140400000000,2024-03,employed,7\n"
                            .utf8),
            ]
        case .etsModel:
            [
                "aada": Array("AAdA".utf8), "ets": Array("ETS(M,A,N)".utf8), "short": Array("A".utf8),
                "snaive": Array("snaive".utf8),
            ]
        case .apiQuery:
            [
                "situation": Array(
                    "tier=county&period=2024-03&indicator=employed&within=140403000000&format=csv\n140403001001".utf8),
                "series": Array(
                    "from=2024-01&to=2024-12&as_of=2024-07-15T00:00:00.5%2B08:00&limit=10&state=firing\n140400000000"
                        .utf8),
                "unit": Array("unit=140403001000&tier=village&period=2099-12\n000000000000".utf8),
            ]
        }
    }

    static let ids = ["110101199003071234", "14040319900307123", "14040319851231002", "14040320000615004"]
        .compactMap { ResidentID.appendingCheckCharacter(to: String($0.prefix(17))) }

    func ledgerSeeds() -> [String: [UInt8]] {
        let header = "序号,姓名,身份证号,户编号,联系电话,现住地址,就业状态,就业形式,就业地点,行业,登记失业,人员类别,求职,帮扶,培训,收入档次"
        let rows = [
            "1,张三,\(Self.ids[1]),H001,13800000000,长治市潞州区,就业,单位就业,本地,制造业,否,农村劳动力、高校毕业生,否,否,是,4000-5999",
            "2,李四,\(Self.ids[2]),H002,,\"长治市,潞州区\",失业,,,,是,就业困难人员,是,是,否,",
            "3,王五,\(Self.ids[3]),H003,,,未在劳动力中,,,,否,,否,否,否,",
        ]
        let chinese = ([header] + rows).joined(separator: "\r\n") + "\r\n"
        let english =
            "id_number,household_number,status,employment_form,work_location,sector,groups\n"
            + "\(Self.ids[1]),H1,employed,flexible,in_province,F,\"veteran,disabled\"\n\(Self.ids[2]),H2,unemployed,,,,\n"
        let json =
            "{\"id_number\": \"\(Self.ids[1])\", \"household_number\": \"H1\", \"status\": \"unemployed\", \"registered_unemployed\": true}\n"
            + "{\"id_number\": \"\(Self.ids[3])\", \"household_number\": \"H3\", \"status\": \"employed\", \"employment_form\": \"self_employed\", \"groups\": [\"rural_labour\"]}\n"
        let activity = "单位,月份,岗位收集,招聘会\n140403001000,2024-10,120,2\n"
        var seeds: [String: [UInt8]] = [
            "chinese-utf8.csv": [0] + Array(chinese.utf8),
            "english-bom.csv": [0, 0xEF, 0xBB, 0xBF] + Array(english.utf8),
            "persons.jsonl": [1] + Array(json.utf8),
            "activity.csv": [0] + Array(activity.utf8),
        ]
        if let gbk = chinese.data(using: String.Encoding(rawValue: 0x8000_0632)) {
            seeds["chinese-gbk.csv"] = [0] + Array(gbk)
        }
        let cells = rows.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        if let workbook = try? WorkbookWriter.xlsx(
            title: nil, header: header.split(separator: ",").map(String.init), rows: cells, textColumns: [2])
        {
            seeds["ledger.xlsx"] = [2] + workbook
        }
        return seeds
    }

    func intakeSeeds() -> [String: [UInt8]] {
        let village = topology.expectedReportingUnits(under: topology.city.code).first?.code ?? topology.city.code
        let signer = RecordSigner(secret: Self.secret)
        var person = PersonStatusRecord(
            recordID: RecordID.random(), unit: village, period: Self.period,
            personKey: String(repeating: "ab", count: 32),
            householdKey: String(repeating: "cd", count: 32), birthYear: 1990, sex: .female, status: .employed,
            employmentForm: .employee,
            workLocation: .local, sector: .c, groups: [.ruralLabour], incomeBand: .from4000To5999,
            reportedAtMilliseconds: 1_730_000_000_000,
            agentID: "fuzz-city")
        signer.sign(&person)
        let township = topology.units(of: .township, under: topology.city.code).first?.code ?? village
        var report = UnitActivityReport(
            recordID: RecordID.random(), unit: township, period: Self.period,
            counters: [.jobsCollected: 120, .recruitmentEvents: 2],
            reportedAtMilliseconds: 1_730_000_000_000, agentID: "fuzz-city")
        signer.sign(&report)
        var manifest = SubmissionManifest(
            recordID: RecordID.random(), unit: village, period: Self.period, kind: .person, records: 1,
            digest: Array(repeating: 7, count: 32),
            reportedAtMilliseconds: 1_730_000_000_000, agentID: "fuzz-city")
        signer.sign(&manifest)
        func message(topic: UInt8, headers: [(String, String)], value: [UInt8]?) -> [UInt8]? {
            guard let value else { return nil }
            var bytes: [UInt8] = [topic, UInt8(headers.count) | 0x4]
            let known = ["empmon.kind", "empmon.agent", "empmon.record"]
            for (key, text) in headers {
                let choice =
                    known.firstIndex(of: key).map { [UInt8($0)] } ?? [UInt8(known.count), UInt8(key.utf8.count)]
                    + Array(key.utf8)
                bytes += choice + [1, UInt8(text.utf8.count)] + Array(text.utf8)
            }
            return bytes + [4] + Array("key1".utf8) + value
        }
        var sealed = [person, person]
        sealed[1].recordID = RecordID.random()
        AgentSigner.ed25519(Self.signingKey, agentID: "fuzz-city").sign(&sealed)
        let next = (try? AgentSigningKey(privateKey: Array(repeating: 43, count: 32))) ?? AgentSigningKey()
        let rotation = KeyAnnouncement.rotation(
            to: next, from: Self.signingKey, agentID: "fuzz-city", at: 1_730_000_000_000)
        let enrolment = KeyAnnouncement(
            recordID: RecordID.random(), agentID: "fuzz-county", publicKey: next.publicKey,
            announcedAtMilliseconds: 1_730_000_000_000, proof: .enrolmentCode("FUZZ0-FUZZ0-FUZZ0-FUZZ0"))
        let seeds: [String: [UInt8]?] = [
            "person": message(topic: 0, headers: [("empmon.agent", "fuzz-city")], value: try? Wire.encode(person)),
            "person.sealed": message(
                topic: 0, headers: [("empmon.agent", "fuzz-city")], value: try? Wire.encode(sealed[1])),
            "key.rotation": message(
                topic: 0, headers: [("empmon.kind", "key"), ("empmon.agent", "fuzz-city")],
                value: try? Wire.encode(rotation)),
            "key.enrolment": message(
                topic: 0, headers: [("empmon.kind", "key"), ("empmon.agent", "fuzz-county")],
                value: try? Wire.encode(enrolment)),
            "activity": message(topic: 1, headers: [("empmon.agent", "fuzz-city")], value: try? Wire.encode(report)),
            "manifest": message(
                topic: 0, headers: [("empmon.kind", "manifest"), ("empmon.agent", "fuzz-city")],
                value: try? Wire.encode(manifest)),
        ]
        return seeds.compactMapValues { $0 }
    }

    func alertRuleSeeds() -> [String: [UInt8]] {
        let rules = """
            rules:
              - id: placement-low
                description: 再就业率低于 5%
                kind: threshold
                indicator: placement_rate
                tiers: [city, county]
                below: 0.05
                resolve_above: 0.06
                for_periods: 1
                keep_firing_for: 1
                severity: warning
              - id: target
                kind: target_at_risk
                indicator: new_urban_employment
                tiers: [county]
                probability_below: 0.5
                resolve_above: 0.6
                severity: critical
            """
        return ["rules.yaml": Array(rules.utf8)]
    }
}
