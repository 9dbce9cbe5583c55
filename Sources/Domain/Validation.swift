/// Why a record is refused: a stable code for machines, the field, and a message a village clerk
/// understands, in Chinese and in English.
package struct ValidationReason: Error, Hashable, Sendable, CustomStringConvertible {
    package let code: Code
    package let field: String
    package let chinese: String
    package let english: String

    package struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        package let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }

        package static let unsupportedSchema = Code(rawValue: "schema.unsupported_version")
        package static let unknownUnit = Code(rawValue: "unit.unknown")
        package static let wrongUnitTier = Code(rawValue: "unit.wrong_tier")
        package static let periodInFuture = Code(rawValue: "period.in_future")
        package static let periodTooEarly = Code(rawValue: "period.before_2020")
        package static let malformedPersonKey = Code(rawValue: "person_key.malformed")
        package static let malformedHouseholdKey = Code(rawValue: "household_key.malformed")
        package static let birthYearOutOfRange = Code(rawValue: "birth_year.out_of_range")
        package static let formWithoutEmployment = Code(rawValue: "employment_form.not_employed")
        package static let formMissing = Code(rawValue: "employment_form.missing")
        package static let locationWithoutEmployment = Code(rawValue: "work_location.not_employed")
        package static let locationMissing = Code(rawValue: "work_location.missing")
        package static let sectorWithoutEmployment = Code(rawValue: "sector.not_employed")
        package static let unknownSector = Code(rawValue: "sector.unknown")
        package static let registeredWhileEmployed = Code(rawValue: "registered_unemployed.employed")
        package static let seekingOutsideLabourForce = Code(rawValue: "seeking_work.not_in_labour_force")
        package static let incomeWithoutEmployment = Code(rawValue: "income_band.not_employed")
        package static let missingAgent = Code(rawValue: "agent_id.missing")
        package static let negativeCounter = Code(rawValue: "counter.negative")
        package static let implausibleCounter = Code(rawValue: "counter.implausible")
        package static let emptyReport = Code(rawValue: "report.empty")
    }

    package init(_ code: Code, field: String, chinese: String, english: String) {
        self.code = code
        self.field = field
        self.chinese = chinese
        self.english = english
    }

    package var description: String { "\(field): \(chinese) (\(english)) [\(code)]" }
}

/// Checks records against the topology and the calendar. Pure: the current month is passed in.
package struct RecordValidator: Sendable {
    package let topology: Topology
    /// The latest month a record may be for (normally the current month).
    package let latestPeriod: Period
    /// Working ages accepted in a person record.
    package let ages: ClosedRange<Int>
    /// Above this, a monthly counter of one station is taken for a typing error.
    package let counterLimit: Int64

    package init(
        topology: Topology, latestPeriod: Period, ages: ClosedRange<Int> = 16...80, counterLimit: Int64 = 1_000_000
    ) {
        self.topology = topology
        self.latestPeriod = latestPeriod
        self.ages = ages
        self.counterLimit = counterLimit
    }

    /// Every reason the record is unacceptable; empty when it is fine.
    package func problems(with record: PersonStatusRecord) -> [ValidationReason] {
        var problems: [ValidationReason] = []
        if record.schemaVersion != PersonStatusRecord.currentSchemaVersion {
            problems.append(
                .init(
                    .unsupportedSchema, field: "schema_version",
                    chinese: "记录格式版本\(record.schemaVersion)不受支持，请升级报送程序",
                    english: "record schema version \(record.schemaVersion) is not supported; update the agent"))
        }
        problems += unitProblems(
            record.unit, allowed: [.village], what: "人员状态记录应由村（社区）报送",
            english: "person records come from a village or community")
        problems += periodProblems(record.period)
        if !isKey(record.personKey) {
            problems.append(
                .init(
                    .malformedPersonKey, field: "person_key",
                    chinese: "人员标识格式错误（应为64位十六进制）", english: "person key must be 64 lowercase hex digits"))
        }
        if !isKey(record.householdKey) {
            problems.append(
                .init(
                    .malformedHouseholdKey, field: "household_key",
                    chinese: "户标识格式错误（应为64位十六进制）", english: "household key must be 64 lowercase hex digits"))
        }
        let age = record.period.year - record.birthYear
        if !ages.contains(age) {
            problems.append(
                .init(
                    .birthYearOutOfRange, field: "birth_year",
                    chinese: "出生年份\(record.birthYear)对应年龄\(age)岁，不在\(ages.lowerBound)–\(ages.upperBound)岁的劳动年龄范围内",
                    english:
                        "birth year \(record.birthYear) makes the person \(age), outside working ages \(ages.lowerBound)–\(ages.upperBound)"
                ))
        }
        let employed = record.status == .employed
        if employed {
            if record.employmentForm == nil {
                problems.append(
                    .init(
                        .formMissing, field: "employment_form",
                        chinese: "已就业人员须填写就业形式", english: "an employed person needs an employment form"))
            }
            if record.workLocation == nil {
                problems.append(
                    .init(
                        .locationMissing, field: "work_location",
                        chinese: "已就业人员须填写就业地点", english: "an employed person needs a work location"))
            }
            if record.registeredUnemployed {
                problems.append(
                    .init(
                        .registeredWhileEmployed, field: "registered_unemployed",
                        chinese: "已就业人员不能同时为登记失业人员", english: "an employed person cannot be registered unemployed"))
            }
        } else {
            if record.employmentForm != nil {
                problems.append(
                    .init(
                        .formWithoutEmployment, field: "employment_form",
                        chinese: "未就业人员不应填写就业形式", english: "employment form given for a person who is not employed"))
            }
            if record.workLocation != nil {
                problems.append(
                    .init(
                        .locationWithoutEmployment, field: "work_location",
                        chinese: "未就业人员不应填写就业地点", english: "work location given for a person who is not employed"))
            }
            if record.sector != nil {
                problems.append(
                    .init(
                        .sectorWithoutEmployment, field: "sector",
                        chinese: "未就业人员不应填写行业", english: "sector given for a person who is not employed"))
            }
            if record.incomeBand != nil {
                problems.append(
                    .init(
                        .incomeWithoutEmployment, field: "income_band",
                        chinese: "未就业人员不应填写收入档次", english: "income band given for a person who is not employed"))
            }
        }
        if record.status == .notInLabourForce, record.seekingWork {
            problems.append(
                .init(
                    .seekingOutsideLabourForce, field: "seeking_work",
                    chinese: "求职人员属于劳动力，就业状态不应为“不在劳动力中”",
                    english: "a person seeking work is in the labour force, not outside it"))
        }
        if record.agentID.isEmpty {
            problems.append(
                .init(.missingAgent, field: "agent_id", chinese: "缺少报送终端标识", english: "agent id is missing"))
        }
        return problems
    }

    package func problems(with report: UnitActivityReport) -> [ValidationReason] {
        var problems: [ValidationReason] = []
        if report.schemaVersion != UnitActivityReport.currentSchemaVersion {
            problems.append(
                .init(
                    .unsupportedSchema, field: "schema_version",
                    chinese: "记录格式版本\(report.schemaVersion)不受支持，请升级报送程序",
                    english: "record schema version \(report.schemaVersion) is not supported; update the agent"))
        }
        problems += unitProblems(
            report.unit, allowed: [.township, .county],
            what: "工作情况报表应由乡镇（街道）或县（区）报送", english: "activity reports come from a township or county station")
        problems += periodProblems(report.period)
        if report.counters.isEmpty {
            problems.append(
                .init(.emptyReport, field: "counters", chinese: "报表没有填写任何数据", english: "the report has no counters"))
        }
        for (counter, value) in report.counters.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            if value < 0 {
                problems.append(
                    .init(
                        .negativeCounter, field: counter.rawValue,
                        chinese: "数值不能为负数（\(value)）", english: "a count cannot be negative (\(value))"))
            } else if value > counterLimit {
                problems.append(
                    .init(
                        .implausibleCounter, field: counter.rawValue,
                        chinese: "数值\(value)超过单月合理上限\(counterLimit)，请核对",
                        english: "\(value) exceeds the plausible monthly maximum \(counterLimit); check it"))
            }
        }
        if report.agentID.isEmpty {
            problems.append(
                .init(.missingAgent, field: "agent_id", chinese: "缺少报送终端标识", english: "agent id is missing"))
        }
        return problems
    }

    /// A sector text (GB/T 4754 section letter, either case) or the reason it is refused.
    package static func sector(_ text: String) -> Result<Sector, ValidationReason> {
        if let sector = Sector(rawValue: text.uppercased()) { return .success(sector) }
        return .failure(
            .init(
                .unknownSector, field: "sector",
                chinese: "行业代码“\(text)”无效，应为国民经济行业分类门类A–T", english: "sector '\(text)' is not a GB/T 4754 section A–T"))
    }

    private func unitProblems(_ unit: DivisionCode, allowed: Set<Tier>, what: String, english: String)
        -> [ValidationReason]
    {
        guard let division = topology[unit] else {
            return [
                .init(
                    .unknownUnit, field: "unit", chinese: "单位代码\(unit)不在长治市区划中",
                    english: "unit \(unit) is not a division of \(topology.city.name)")
            ]
        }
        guard allowed.contains(division.tier) else {
            return [
                .init(
                    .wrongUnitTier, field: "unit", chinese: "\(what)，\(division.name)是\(division.tier.chineseName)级",
                    english: "\(english); \(unit) is a \(division.tier)")
            ]
        }
        return []
    }

    private func periodProblems(_ period: Period) -> [ValidationReason] {
        if period > latestPeriod {
            return [
                .init(
                    .periodInFuture, field: "period", chinese: "报送期\(period)晚于当前月份\(latestPeriod)",
                    english: "period \(period) is after the current month \(latestPeriod)")
            ]
        }
        if period < Period.earliest {
            return [
                .init(
                    .periodTooEarly, field: "period", chinese: "报送期\(period)早于2020年1月",
                    english: "period \(period) is before 2020-01")
            ]
        }
        return []
    }

    private func isKey(_ key: String) -> Bool {
        key.utf8.count == 64 && key.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
