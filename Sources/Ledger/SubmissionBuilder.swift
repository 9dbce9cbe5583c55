import Domain

/// Turns a parsed ledger into signed, validated person records for one unit and month.
package struct SubmissionBuilder: Sendable {
    package let unit: DivisionCode
    package let period: Period
    package let agentID: String
    package let pseudonymizer: Pseudonymizer
    package let signer: AgentSigner
    package let validator: RecordValidator

    package init(
        unit: DivisionCode, period: Period, agentID: String, pseudonymizer: Pseudonymizer, signer: AgentSigner,
        validator: RecordValidator
    ) {
        self.unit = unit
        self.period = period
        self.agentID = agentID
        self.pseudonymizer = pseudonymizer
        self.signer = signer
        self.validator = validator
    }

    package struct Built: Sendable {
        /// Each good row's file line and its signed record.
        package var records: [(line: Int, record: PersonStatusRecord)]
        /// Every problem, file rows and rule checks alike, in line order.
        package var errors: [RowError]
    }

    package func build(_ ledger: PersonLedger, reportedAtMilliseconds: Int64) -> Built {
        var records: [(line: Int, record: PersonStatusRecord)] = []
        var errors = ledger.errors
        var firstLineOfPerson: [String: Int] = [:]
        for entry in ledger.entries {
            let household: String
            do { household = try pseudonymizer.householdKey(for: entry.householdNumber) } catch {
                errors.append(
                    RowError(
                        line: entry.line, column: ledger.headerOf[.householdNumber] ?? "household_number",
                        chinese: error.description, english: error.description))
                continue
            }
            let personKey = pseudonymizer.personKey(for: entry.id)
            if let first = firstLineOfPerson[personKey] {
                errors.append(
                    RowError(
                        line: entry.line, column: ledger.headerOf[.idNumber] ?? "id_number",
                        chinese: "同一身份证号已在第\(first)行出现", english: "the same ID number already appears on line \(first)")
                )
                continue
            }
            firstLineOfPerson[personKey] = entry.line
            let record = PersonStatusRecord(
                recordID: .random(), unit: unit, period: period, personKey: personKey, householdKey: household,
                birthYear: entry.id.birthYear, sex: entry.id.sex, status: entry.status,
                employmentForm: entry.employmentForm,
                workLocation: entry.workLocation, sector: entry.sector,
                registeredUnemployed: entry.registeredUnemployed,
                groups: entry.groups, seekingWork: entry.seekingWork, assisted: entry.assisted, trained: entry.trained,
                incomeBand: entry.incomeBand, reportedAtMilliseconds: reportedAtMilliseconds, agentID: agentID)
            let problems = validator.problems(with: record)
            if problems.isEmpty {
                records.append((entry.line, record))
            } else {
                for problem in problems {
                    errors.append(
                        RowError(
                            line: entry.line, column: column(for: problem.field, in: ledger),
                            chinese: problem.chinese, english: problem.english))
                }
            }
        }
        errors.sort { ($0.line, $0.column) < ($1.line, $1.column) }
        // Signed together: with a key pair, one signature seals the whole submission.
        var signed = records.map(\.record)
        signer.sign(&signed)
        return Built(records: zip(records, signed).map { ($0.line, $1) }, errors: errors)
    }

    /// The file's header for a record field, so the clerk sees the column as they named it.
    private func column(for field: String, in ledger: PersonLedger) -> String {
        switch field {
        case "birth_year": ledger.headerOf[.idNumber] ?? "id_number"
        case "person_key": ledger.headerOf[.idNumber] ?? "id_number"
        case "household_key": ledger.headerOf[.householdNumber] ?? "household_number"
        default: LedgerColumn(rawValue: field).flatMap { ledger.headerOf[$0] } ?? field
        }
    }
}
