import Domain
import Kafka
import Postgres

/// Another member owns a partition now: its stored offset moved on, or was never where this member thought.
struct StaleAssignment: Error, CustomStringConvertible {
    let partition: KafkaTopicPartition
    var description: String { "the stored offset of \(partition) moved: another member owns it now" }
}

/// The processor's statements for one batch, all inside the batch's transaction on one connection.
struct BatchStore {
    let connection: PostgresConnection

    /// Session-local staging tables; COPY fills them and set-based statements move rows on.
    static let stagingTables = """
        CREATE TEMP TABLE IF NOT EXISTS batch_person_keys (person_key bytea, period date) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_household_keys (period date, unit_code char(12), household_key bytea) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_village_keys (period date, unit_code char(12)) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_activity_keys (period date, unit_code char(12)) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_persons (LIKE person_ledger INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_activity (LIKE activity_ledger INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_households
            (period date, unit_code char(12), household_key bytea, in_labour_force integer, employed integer) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_villages (period date, unit_code char(12), persons integer) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_changes (period date, unit_code char(12), indicator text, delta bigint) ON COMMIT DELETE ROWS;
        """

    /// Creates missing month partitions, in its own transaction before the batch's.
    static func ensureMonths(_ periods: Set<Period>, on connection: PostgresConnection) async throws {
        guard !periods.isEmpty else { return }
        let list = "{" + periods.sorted().map { LedgerColumns.date($0) }.joined(separator: ",") + "}"
        try await connection.query("SELECT empmon_ensure_month(m) FROM unnest($1::date[]) AS m ORDER BY m", [list])
    }

    /// Moves the stored offsets from where this member last left them, or fails if another member moved them.
    func advanceOffsets(group: String, _ moves: [(partition: KafkaTopicPartition, expected: Int64?, next: Int64)]) async throws {
        for move in moves.sorted(by: { $0.partition < $1.partition }) {
            let rows: PostgresRows
            if let expected = move.expected {
                rows = try await connection.query(
                    """
                    UPDATE consumer_offsets SET next_offset = $5, updated_at = now()
                    WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND next_offset = $4
                    """, [group, move.partition.topic, Int(move.partition.partition), expected, move.next])
            } else {
                rows = try await connection.query(
                    """
                    INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
                    ON CONFLICT DO NOTHING
                    """, [group, move.partition.topic, Int(move.partition.partition), move.next])
            }
            if rows.affectedRows != 1 { throw StaleAssignment(partition: move.partition) }
        }
    }

    func insertRejections(_ rejections: [RecordRejection]) async throws {
        guard !rejections.isEmpty else { return }
        try await connection.copyIn(
            """
            COPY rejections (topic, partition, "offset", record_id, agent_id, unit_code, reason_code, field, message_zh, message_en, payload)
            FROM STDIN
            """
        ) { writer in
            for rejection in rejections {
                try writer.append([
                    rejection.topic, Int(rejection.partition), rejection.offset, rejection.recordID, rejection.agentID, rejection.unit,
                    rejection.reason.code.rawValue, rejection.reason.field, rejection.chineseMessage, rejection.englishMessage,
                    PostgresBytes(rejection.payload),
                ])
            }
        }
    }

    /// Locks the batch's persons (in key order, so that concurrent batches wait rather than deadlock) and
    /// returns their stored records for the given months.
    func lockAndReadPersons(_ keys: Set<PersonMonthKey>) async throws -> [PersonMonthKey: PersonStatusRecord] {
        guard !keys.isEmpty else { return [:] }
        let sorted = keys.sorted()
        try await connection.copyIn("COPY batch_person_keys (person_key, period) FROM STDIN") { writer in
            for key in sorted { try writer.append([LedgerColumns.hexBytea(key.personKey), LedgerColumns.date(key.period)]) }
        }
        try await connection.query(
            "INSERT INTO persons (person_key) SELECT DISTINCT person_key FROM batch_person_keys ORDER BY 1 ON CONFLICT DO NOTHING")
        try await connection.query(
            """
            SELECT count(*) FROM (SELECT 1 FROM persons WHERE person_key IN (SELECT person_key FROM batch_person_keys)
            ORDER BY person_key FOR UPDATE) AS locked
            """)
        let rows = try await connection.query(
            """
            SELECT l.* FROM batch_person_keys AS k CROSS JOIN LATERAL (
                SELECT \(LedgerColumns.person) FROM person_ledger AS l WHERE l.person_key = k.person_key AND l.period = k.period
            ) AS l
            """)
        var result: [PersonMonthKey: PersonStatusRecord] = [:]
        for row in rows {
            let record = try LedgerColumns.personRecord(row)
            result[PersonMonthKey(personKey: record.personKey, period: record.period)] = record
        }
        return result
    }

    func readHouseholds(_ keys: Set<HouseholdMonth>) async throws -> [HouseholdMonth: HouseholdMembers] {
        guard !keys.isEmpty else { return [:] }
        try await connection.copyIn("COPY batch_household_keys (period, unit_code, household_key) FROM STDIN") { writer in
            for key in keys {
                try writer.append([LedgerColumns.date(key.period), key.unit.description, LedgerColumns.hexBytea(key.householdKey)])
            }
        }
        let rows = try await connection.query(
            """
            SELECT h.period::text, h.unit_code, h.household_key, h.in_labour_force, h.employed
            FROM batch_household_keys AS k CROSS JOIN LATERAL (
                SELECT * FROM household_members AS h
                WHERE h.period = k.period AND h.unit_code = k.unit_code AND h.household_key = k.household_key
            ) AS h
            """)
        var result: [HouseholdMonth: HouseholdMembers] = [:]
        for row in rows {
            let (periodText, unitText, householdText, inLabourForce, employed) = try row.decode((String, String, String, Int, Int).self)
            guard let period = LedgerColumns.period(fromDate: periodText), let unit = DivisionCode(unitText),
                let household = LedgerColumns.hex(fromBytea: householdText)
            else { throw PostgresError(.decoding, "a household_members row is malformed") }
            result[HouseholdMonth(unit: unit, period: period, householdKey: household)] =
                HouseholdMembers(inLabourForce: inLabourForce, employed: employed)
        }
        return result
    }

    func readVillageReports(_ keys: Set<UnitMonth>) async throws -> [UnitMonth: Int] {
        guard !keys.isEmpty else { return [:] }
        try await connection.copyIn("COPY batch_village_keys (period, unit_code) FROM STDIN") { writer in
            for key in keys { try writer.append([LedgerColumns.date(key.period), key.unit.description]) }
        }
        let rows = try await connection.query(
            "SELECT v.period::text, v.unit_code, v.persons FROM batch_village_keys AS k JOIN village_reports AS v USING (period, unit_code)")
        var result: [UnitMonth: Int] = [:]
        for row in rows {
            let (periodText, unitText, persons) = try row.decode((String, String, Int).self)
            guard let period = LedgerColumns.period(fromDate: periodText), let unit = DivisionCode(unitText)
            else { throw PostgresError(.decoding, "a village_reports row is malformed") }
            result[UnitMonth(unit: unit, period: period)] = persons
        }
        return result
    }

    func readActivity(_ keys: Set<UnitMonth>) async throws -> [UnitMonth: UnitActivityReport] {
        guard !keys.isEmpty else { return [:] }
        try await connection.copyIn("COPY batch_activity_keys (period, unit_code) FROM STDIN") { writer in
            for key in keys { try writer.append([LedgerColumns.date(key.period), key.unit.description]) }
        }
        let rows = try await connection.query(
            """
            SELECT \(LedgerColumns.activity.split(separator: ",").map { "a." + $0.trimmingCharacters(in: " ") }.joined(separator: ", "))
            FROM batch_activity_keys AS k JOIN activity_ledger AS a USING (period, unit_code) FOR UPDATE OF a
            """)
        var result: [UnitMonth: UnitActivityReport] = [:]
        for row in rows {
            let report = try LedgerColumns.activityReport(row)
            result[UnitMonth(unit: report.unit, period: report.period)] = report
        }
        return result
    }

    /// Marks months as monitored and returns those this batch opened.
    func openPeriods(_ periods: Set<Period>) async throws -> [Period] {
        guard !periods.isEmpty else { return [] }
        let list = "{" + periods.sorted().map { LedgerColumns.date($0) }.joined(separator: ",") + "}"
        let rows = try await connection.query(
            "INSERT INTO monitored_periods (period) SELECT unnest($1::date[]) ORDER BY 1 ON CONFLICT DO NOTHING RETURNING period::text", [list])
        return try rows.map { try $0.decode(String.self, at: 0) }.compactMap { LedgerColumns.period(fromDate: $0) }
    }

    /// Stores the batch's records, derived counts and indicator changes.
    func write(_ effect: BatchEffect, changes: [UnitMonth: IndicatorCounts]) async throws {
        if !effect.acceptedPersons.isEmpty {
            let accepted = effect.acceptedPersons
            try await connection.copyIn("COPY batch_persons (\(LedgerColumns.person)) FROM STDIN") { writer in
                for record in accepted { try writer.append(LedgerColumns.row(record)) }
            }
            if !effect.supersededPersons.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO person_ledger_superseded (\(LedgerColumns.person), accepted_at)
                    SELECT l.* FROM batch_persons AS b CROSS JOIN LATERAL (
                        SELECT \(LedgerColumns.person), accepted_at FROM person_ledger AS l
                        WHERE l.person_key = b.person_key AND l.period = b.period
                    ) AS l
                    """)
            }
            let updates = LedgerColumns.person.split(separator: ",").map { $0.trimmingCharacters(in: " \n") }
                .filter { $0 != "period" && $0 != "person_key" }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
            try await connection.query(
                """
                INSERT INTO person_ledger (\(LedgerColumns.person)) SELECT \(LedgerColumns.person) FROM batch_persons
                ON CONFLICT (person_key, period) DO UPDATE SET \(updates), accepted_at = now()
                """)
        }
        if !effect.households.isEmpty {
            let households = effect.households
            try await connection.copyIn("COPY batch_households FROM STDIN") { writer in
                for (key, members) in households {
                    try writer.append([
                        LedgerColumns.date(key.period), key.unit.description, LedgerColumns.hexBytea(key.householdKey),
                        members.inLabourForce, members.employed,
                    ])
                }
            }
            try await connection.query(
                """
                INSERT INTO household_members SELECT * FROM batch_households
                ON CONFLICT (period, unit_code, household_key)
                DO UPDATE SET in_labour_force = excluded.in_labour_force, employed = excluded.employed
                """)
        }
        if !effect.reportedPersons.isEmpty {
            let villages = effect.reportedPersons
            try await connection.copyIn("COPY batch_villages FROM STDIN") { writer in
                for (key, persons) in villages { try writer.append([LedgerColumns.date(key.period), key.unit.description, persons]) }
            }
            try await connection.query(
                """
                INSERT INTO village_reports SELECT * FROM batch_villages
                ON CONFLICT (period, unit_code) DO UPDATE SET persons = excluded.persons
                """)
        }
        if !effect.acceptedActivity.isEmpty {
            let accepted = effect.acceptedActivity
            try await connection.copyIn("COPY batch_activity (\(LedgerColumns.activity)) FROM STDIN") { writer in
                for report in accepted { try writer.append(LedgerColumns.row(report)) }
            }
            try await connection.query(
                """
                INSERT INTO activity_ledger_superseded (\(LedgerColumns.activity), accepted_at)
                SELECT \(LedgerColumns.activity.split(separator: ",").map { "a." + $0.trimmingCharacters(in: " ") }.joined(separator: ", ")), a.accepted_at
                FROM batch_activity AS b JOIN activity_ledger AS a USING (period, unit_code)
                """)
            try await connection.query(
                """
                INSERT INTO activity_ledger (\(LedgerColumns.activity)) SELECT \(LedgerColumns.activity) FROM batch_activity
                ON CONFLICT (unit_code, period) DO UPDATE SET record_id = excluded.record_id, counters = excluded.counters,
                    reported_at_ms = excluded.reported_at_ms, agent_id = excluded.agent_id, signature = excluded.signature,
                    accepted_at = now()
                """)
        }
        if !changes.isEmpty {
            try await connection.copyIn("COPY batch_changes FROM STDIN") { writer in
                for (key, counts) in changes {
                    for (indicator, delta) in counts where delta != 0 {
                        try writer.append([LedgerColumns.date(key.period), key.unit.description, indicator.rawValue, delta])
                    }
                }
            }
            // In key order: every batch updates the city's rows, and a fixed order makes concurrent batches
            // queue instead of deadlocking.
            try await connection.query(
                """
                INSERT INTO indicator_values (period, unit_code, indicator, value)
                SELECT period, unit_code, indicator, delta FROM batch_changes ORDER BY period, unit_code, indicator
                ON CONFLICT (period, unit_code, indicator)
                DO UPDATE SET value = indicator_values.value + excluded.value, updated_at = now()
                """)
        }
    }
}
