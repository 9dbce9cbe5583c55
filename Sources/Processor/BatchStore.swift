import Domain
import Kafka
import Postgres
import Storage

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
        CREATE TEMP TABLE IF NOT EXISTS batch_activity_keys (period date, unit_code char(12)) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_persons (LIKE person_ledger INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_activity (LIKE activity_ledger INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_households
            (period date, unit_code char(12), household_key bytea, in_labour_force integer, employed integer) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_villages
            (period date, unit_code char(12), persons integer, employed_new_to_ledger integer) ON COMMIT DELETE ROWS;
        CREATE TEMP TABLE IF NOT EXISTS batch_changes (LIKE unit_month_counts INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
        """

    /// Creates missing month partitions, in its own transaction before the batch's.
    static func ensureMonths(_ periods: Set<Period>, on connection: PostgresConnection) async throws {
        guard !periods.isEmpty else { return }
        let list = PostgresArray(periods.sorted().map { LedgerColumns.date($0) })
        try await connection.query("SELECT empmon_ensure_month(m) FROM unnest($1::date[]) AS m ORDER BY m", [list])
    }

    /// Moves the stored offsets from where this member last left them, or fails if another member moved them.
    func advanceOffsets(group: String, _ moves: [(partition: KafkaTopicPartition, expected: Int64?, next: Int64)])
        async throws
    {
        for move in moves.sorted(by: { $0.partition < $1.partition }) {
            let moved = try await ConsumerOffsets.advance(
                group: group, topic: move.partition.topic, partition: Int(move.partition.partition),
                from: move.expected, to: move.next, on: connection)
            if !moved { throw StaleAssignment(partition: move.partition) }
        }
    }

    /// Stores what the checks refused. Its texts come partly from the message itself (the record id and agent in
    /// its headers, names quoted in the reasons), and PostgreSQL's text cannot hold a NUL character: a NUL is
    /// stored as U+FFFD, so that one hostile message cannot stop the processor (found by the test that sends
    /// 10,000 random messages). The payload keeps the exact bytes.
    func insertRejections(_ rejections: [RecordRejection]) async throws {
        guard !rejections.isEmpty else { return }
        try await connection.copyIn(
            """
            COPY rejections (topic, partition, "offset", record_id, agent_id, unit_code, reason_code, field, message_zh, message_en, payload, period)
            FROM STDIN
            """
        ) { writer in
            @Sendable func storable(_ text: String?) -> String? {
                text.map { $0.contains("\u{0}") ? String($0.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }) : $0 }
            }
            for rejection in rejections {
                try writer.append([
                    rejection.topic, Int(rejection.partition), rejection.offset, storable(rejection.recordID),
                    storable(rejection.agentID),
                    storable(rejection.unit), storable(rejection.reason.code.rawValue),
                    storable(rejection.reason.field),
                    storable(rejection.chineseMessage), storable(rejection.englishMessage),
                    PostgresBytes(rejection.payload), rejection.period.map { "\($0)-01" },
                ])
            }
        }
    }

    /// Locks the batch's persons.
    ///
    /// The locks are transaction-scoped advisory locks on 1,024 buckets of person keys, taken in bucket order
    /// so that concurrent batches queue instead of deadlocking: a person who moved county has months in two
    /// partitions, and two members must not work on one person at once. (Buckets, not persons, so that a
    /// batch holds at most 1,024 locks whatever its size.)
    func lockPersons(_ keys: Set<PersonMonthKey>) async throws {
        guard !keys.isEmpty else { return }
        let buckets = Set(keys.lazy.map(\.person.lockBucket)).sorted()
        try await connection.query(
            "SELECT count(*) FROM (SELECT pg_advisory_xact_lock($1::int, b) FROM unnest($2::int[]) AS b) AS locked",
            [Self.personLockClass, PostgresArray(describing: buckets)])
    }

    /// The stored records of the given (person, month) pairs; the caller holds their persons' locks.
    func readPersons(_ keys: some Collection<PersonMonthKey>) async throws -> [PersonMonthKey: PersonStatusRecord] {
        guard !keys.isEmpty else { return [:] }
        // One index probe per wanted (person, month): a subquery per month, each with that month's persons.
        var byPeriod: [Period: [PersonKey]] = [:]
        for key in keys { byPeriod[key.period, default: []].append(key.person) }
        var parameters: [any PostgresEncodable] = []
        var parts: [String] = []
        for (period, wanted) in byPeriod.sorted(by: { $0.key < $1.key }) {
            parameters += [LedgerColumns.date(period), Self.keyBytes(wanted)]
            let keys = "$\(parameters.count)::bytea"
            // The keys as one bytea, cut into 32-byte pieces: PostgreSQL parsed a text array of as many hex strings
            // (and decoded each) in three times as long (25 against 80 ms for 60,000 keys).
            parts.append(
                """
                (SELECT \(LedgerColumns.person) FROM person_ledger WHERE period = $\(parameters.count - 1)::date
                AND person_key = ANY(ARRAY(SELECT substring(\(keys) FROM i * 32 + 1 FOR 32)
                    FROM generate_series(0, length(\(keys)) / 32 - 1) AS i)))
                """)
        }
        let rows = try await connection.query(parts.joined(separator: " UNION ALL "), parameters)
        // Decoded on both cores: PostgreSQL waits for the batch's next statement meanwhile.
        let records = try await Array(rows).concurrentMap(minimumSlice: 2_000) { try LedgerColumns.personRecord($0) }
        var result: [PersonMonthKey: PersonStatusRecord] = [:]
        result.reserveCapacity(records.count)
        for record in records { result[PersonMonthKey(person: record.person, period: record.period)] = record }
        return result
    }

    /// Those of `periods` for which the ledger holds any row: the first row of each month's partition. (As
    /// `WHERE EXISTS`, the planner hashed every stored month's rows: 28 ms with four months of 20,000 rows.)
    func monthsWithPersons(_ periods: Set<Period>) async throws -> Set<Period> {
        guard !periods.isEmpty else { return [] }
        let rows = try await connection.query(
            """
            SELECT m::text FROM unnest($1::date[]) AS m
            CROSS JOIN LATERAL (SELECT 1 FROM person_ledger AS l WHERE l.period = m \(Self.probeOnce)) AS any_row
            """, [PostgresArray(periods.sorted().map { LedgerColumns.date($0) })])
        return Set(try rows.map { try $0.decode(String.self, at: 0) }.compactMap { LedgerColumns.period(fromDate: $0) })
    }

    /// Where the count of statements that wrote the ledger tables stands (migration 11), and how many of them
    /// were this transaction's.
    func ledgerWrites() async throws -> LedgerWrites {
        let rows = try await connection.query(
            """
            SELECT last_value, coalesce(nullif(current_setting('empmon.own_ledger_writes', true), ''), '0')::bigint
            FROM ledger_writes
            """)
        guard let row = rows.first else { throw PostgresError(.decoding, "ledger_writes has no row") }
        let (drawn, own) = try row.decode((Int64, Int64).self)
        return LedgerWrites(drawn: drawn, own: own)
    }

    static let personLockClass = 0x454D_50  // "EMP"
    static let countyLockClass = 0x454D_43  // "EMC"

    /// Locks the counties whose household and village counts the batch changes, in code order. They are
    /// normally the batch's own partition's, owned by this member alone; a correction that moves a person
    /// between counties reaches into another member's, and then the two queue here.
    func lockCounties(_ units: Set<DivisionCode>) async throws {
        let counties = Set(units.compactMap { $0.ancestor(at: .county) }).map { Int($0.value / 1_000_000 % 1_000_000) }
            .sorted()
        guard !counties.isEmpty else { return }
        try await connection.query(
            "SELECT count(*) FROM (SELECT pg_advisory_xact_lock($1::int, c) FROM unnest($2::int[]) AS c) AS locked",
            [Self.countyLockClass, PostgresArray(describing: counties)])
    }

    /// Ends each keyed lookup of a batch's rows. Every such lookup matches one row at most (the keys are the
    /// tables' primary keys), so the limit changes no result; it keeps the lookup a subquery the planner cannot
    /// merge into a join, and so an index probe per key. As a join, the planner chose a hash join over every
    /// stored month once the batch had a few hundred keys: household counts of 150 keys took 21 ms with four
    /// months stored (1.2 ms as probes), and that cost grew with each month stored.
    static let probeOnce = "LIMIT 1"

    static func textArray(_ values: some Sequence<String>) -> PostgresArray { PostgresArray(values) }

    /// Person keys as one bytea's text form, 32 bytes each.
    static func keyBytes(_ keys: [PersonKey]) -> String {
        var text = Array("\\x".utf8)
        text.reserveCapacity(2 + 64 * keys.count)
        for key in keys { key.appendHex(to: &text) }
        return String(decoding: text, as: UTF8.self)
    }

    /// Stored member counts (the caller holds the counties' locks). Unit codes go as bpchar, the column's type:
    /// as text they would be compared after a cast, which turns each keyed lookup into a scan of the month.
    func readHouseholds(_ keys: Set<HouseholdMonth>) async throws -> [HouseholdMonth: HouseholdMembers] {
        guard !keys.isEmpty else { return [:] }
        let lookup = Self.householdLookup(keys)
        let rows = try await connection.query(lookup.sql, lookup.parameters)
        var result: [HouseholdMonth: HouseholdMembers] = [:]
        for row in rows {
            let (periodText, unitText, householdText, inLabourForce, employed) = try row.decode(
                (String, String, String, Int, Int).self)
            guard let period = LedgerColumns.period(fromDate: periodText), let unit = DivisionCode(unitText),
                let household = LedgerColumns.hex(fromBytea: householdText)
            else { throw PostgresError(.decoding, "a household_members row is malformed") }
            let key = HouseholdMonth(unit: unit, period: period, householdKey: household)
            if keys.contains(key) { result[key] = HouseholdMembers(inLabourForce: inLabourForce, employed: employed) }
        }
        return result
    }

    func readVillageReports(_ keys: Set<UnitMonth>) async throws -> [UnitMonth: VillageMonthCounts] {
        guard !keys.isEmpty else { return [:] }
        let lookup = Self.villageLookup(keys)
        let rows = try await connection.query(lookup.sql, lookup.parameters)
        var result: [UnitMonth: VillageMonthCounts] = [:]
        for row in rows {
            let (periodText, unitText, persons, entrants) = try row.decode((String, String, Int, Int).self)
            guard let period = LedgerColumns.period(fromDate: periodText), let unit = DivisionCode(unitText)
            else { throw PostgresError(.decoding, "a village_reports row is malformed") }
            let key = UnitMonth(unit: unit, period: period)
            if keys.contains(key) { result[key] = VillageMonthCounts(persons: persons, employedNewToLedger: entrants) }
        }
        return result
    }

    /// The statement that reads stored member counts: one index probe per wanted household (`probeOnce`).
    static func householdLookup(_ keys: Set<HouseholdMonth>) -> (sql: String, parameters: [any PostgresEncodable]) {
        // Not sorted: each key is one probe whatever the order, and sorting ~20,000 keys by their texts took
        // ~50 ms while PostgreSQL waited.
        let keys = Array(keys)
        let sql = """
            SELECT h.period::text, h.unit_code, h.household_key, h.in_labour_force, h.employed
            FROM unnest($1::date[], $2::bpchar[], $3::text[]) AS k (period, unit_code, household)
            CROSS JOIN LATERAL (
                SELECT * FROM household_members AS h
                WHERE h.period = k.period AND h.unit_code = k.unit_code AND h.household_key = decode(k.household, 'hex')
                \(probeOnce)
            ) AS h
            """
        return (
            sql,
            [
                PostgresArray(keys.map { LedgerColumns.date($0.period) }),
                textArray(keys.map(\.unit.description)), textArray(keys.map(\.householdKey)),
            ]
        )
    }

    /// The statement that reads stored village counts: the wanted (village, month) pairs themselves, one index
    /// probe each, not every listed month of every listed village.
    static func villageLookup(_ keys: Set<UnitMonth>) -> (sql: String, parameters: [any PostgresEncodable]) {
        let sorted = keys.sorted { ($0.period, $0.unit) < ($1.period, $1.unit) }
        let sql = """
            SELECT v.period::text, v.unit_code, v.persons, v.employed_new_to_ledger
            FROM unnest($1::date[], $2::bpchar[]) AS k (period, unit_code)
            CROSS JOIN LATERAL (
                SELECT * FROM village_reports AS v WHERE v.period = k.period AND v.unit_code = k.unit_code \(probeOnce)
            ) AS v
            """
        return (
            sql,
            [PostgresArray(sorted.map { LedgerColumns.date($0.period) }), textArray(sorted.map(\.unit.description))]
        )
    }

    func readActivity(_ keys: Set<UnitMonth>) async throws -> [UnitMonth: UnitActivityReport] {
        guard !keys.isEmpty else { return [:] }
        try await connection.copyIn("COPY batch_activity_keys (period, unit_code) FROM STDIN") { writer in
            for key in keys { try writer.append([LedgerColumns.date(key.period), key.unit.description]) }
        }
        let rows = try await connection.query(
            """
            SELECT \(LedgerColumns.activityQualified)
            FROM batch_activity_keys AS k CROSS JOIN LATERAL (
                SELECT * FROM activity_ledger AS a WHERE a.period = k.period AND a.unit_code = k.unit_code
                \(Self.probeOnce) FOR UPDATE
            ) AS a
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
        let list = PostgresArray(periods.sorted().map { LedgerColumns.date($0) })
        let rows = try await connection.query(
            "INSERT INTO monitored_periods (period) SELECT unnest($1::date[]) ORDER BY 1 ON CONFLICT DO NOTHING RETURNING period::text",
            [list])
        return try rows.map { try $0.decode(String.self, at: 0) }.compactMap { LedgerColumns.period(fromDate: $0) }
    }

    /// Keeps `person_ledger_displaced` current: each unit's newest record of a person-month another unit's record
    /// holds (an older claim is not written over a newer one), and no entry where the unit's own is current again.
    func writeDisplacement(_ displacement: Displacement) async throws {
        if !displacement.restored.isEmpty {
            let restored = displacement.restored
            try await connection.query(
                """
                DELETE FROM person_ledger_displaced AS d
                USING unnest($1::date[], $2::text[], $3::text[]) AS r(period, unit, person)
                WHERE (d.period, d.unit_code, d.person_key) = (r.period, r.unit, decode(r.person, 'hex'))
                """,
                [
                    PostgresArray(restored.map { LedgerColumns.date($0.key.period) }),
                    PostgresArray(restored.map(\.unit.description)), PostgresArray(restored.map(\.key.personKey)),
                ])
        }
        if !displacement.displaced.isEmpty {
            let records = displacement.displaced
            try await connection.query(
                """
                INSERT INTO person_ledger_displaced AS d (period, unit_code, person_key, record_id, reported_at_ms)
                SELECT period, unit, decode(person, 'hex'), id, reported
                FROM unnest($1::date[], $2::text[], $3::text[], $4::uuid[], $5::bigint[]) AS r(period, unit, person, id, reported)
                ON CONFLICT (period, unit_code, person_key) DO UPDATE
                SET record_id = excluded.record_id, reported_at_ms = excluded.reported_at_ms
                WHERE (excluded.reported_at_ms, excluded.record_id) > (d.reported_at_ms, d.record_id)
                """,
                [
                    PostgresArray(records.map { LedgerColumns.date($0.period) }),
                    PostgresArray(records.map(\.unit.description)), PostgresArray(records.map(\.personKey)),
                    PostgresArray(records.map(\.recordID.text)),
                    PostgresArray(records.map { String($0.reportedAtMilliseconds) }),
                ])
        }
    }

    /// Stores the batch's accepted person records. Rows that did not exist go straight in by COPY; rows that
    /// did are kept in `person_ledger_superseded` and replaced through the staging table.
    func writeLedger(_ acceptance: PersonAcceptance) async throws {
        let replaced = Set(acceptance.superseded.map { PersonMonthKey(person: $0.person, period: $0.period) })
        let fresh = acceptance.accepted.filter {
            !replaced.contains(PersonMonthKey(person: $0.person, period: $0.period))
        }
        let replacing = acceptance.accepted.filter {
            replaced.contains(PersonMonthKey(person: $0.person, period: $0.period))
        }
        if !fresh.isEmpty {
            try await connection.copyInBinary("COPY person_ledger (\(LedgerColumns.person)) FROM STDIN (FORMAT binary)")
            {
                writer in
                for record in fresh { try LedgerColumns.appendRow(record, to: &writer) }
            }
        }
        if !replacing.isEmpty {
            try await connection.copyInBinary("COPY batch_persons (\(LedgerColumns.person)) FROM STDIN (FORMAT binary)")
            {
                writer in
                for record in replacing { try LedgerColumns.appendRow(record, to: &writer) }
            }
            try await connection.query(
                """
                INSERT INTO person_ledger_superseded (\(LedgerColumns.person), accepted_at)
                SELECT l.* FROM batch_persons AS b CROSS JOIN LATERAL (
                    SELECT \(LedgerColumns.person), accepted_at FROM person_ledger AS l
                    WHERE l.person_key = b.person_key AND l.period = b.period \(Self.probeOnce)
                ) AS l
                """)
            let updates = LedgerColumns.person.split(separator: ",").map { $0.trimmingCharacters(in: " \n") }
                .filter { $0 != "period" && $0 != "person_key" }.map { "\($0) = excluded.\($0)" }.joined(
                    separator: ", ")
            try await connection.query(
                """
                INSERT INTO person_ledger (\(LedgerColumns.person)) SELECT \(LedgerColumns.person) FROM batch_persons
                ON CONFLICT (person_key, period) DO UPDATE SET \(updates), accepted_at = now()
                """)
        }
    }

    /// Stores the batch's derived counts (households, villages), activity reports and indicator changes, new
    /// rows by COPY and changed ones through the staging tables.
    func writeCounts(
        _ effect: BatchEffect, state: BatchState, changes: [UnitMonth: IndicatorCounts], phases: inout PhaseTimer
    ) async throws {
        let newHouseholds = effect.households.filter { state.households[$0.key] == nil }
        let changedHouseholds = effect.households.filter { state.households[$0.key] != nil }
        for (rows, table) in [(newHouseholds, "household_members"), (changedHouseholds, "batch_households")]
        where !rows.isEmpty {
            try await connection.copyInBinary(
                "COPY \(table) (period, unit_code, household_key, in_labour_force, employed) FROM STDIN (FORMAT binary)"
            ) { writer in
                for (key, members) in rows {
                    try writer.beginRow(fields: 5)
                    try LedgerColumns.appendDate(key.period, to: &writer)
                    try writer.appendText(key.unit.description)
                    try writer.appendBytes(hex: key.householdKey)
                    try writer.appendInteger(members.inLabourForce)
                    try writer.appendInteger(members.employed)
                }
            }
        }
        if !changedHouseholds.isEmpty {
            try await connection.query(
                """
                INSERT INTO household_members SELECT * FROM batch_households
                ON CONFLICT (period, unit_code, household_key)
                DO UPDATE SET in_labour_force = excluded.in_labour_force, employed = excluded.employed
                """)
        }
        let newVillages = effect.villages.filter { state.villages[$0.key] == nil }
        let changedVillages = effect.villages.filter { state.villages[$0.key] != nil }
        for (rows, table) in [(newVillages, "village_reports"), (changedVillages, "batch_villages")] where !rows.isEmpty
        {
            try await connection.copyInBinary(
                "COPY \(table) (period, unit_code, persons, employed_new_to_ledger) FROM STDIN (FORMAT binary)"
            ) { writer in
                for (key, counts) in rows {
                    try writer.beginRow(fields: 4)
                    try LedgerColumns.appendDate(key.period, to: &writer)
                    try writer.appendText(key.unit.description)
                    try writer.appendInteger(counts.persons)
                    try writer.appendInteger(counts.employedNewToLedger)
                }
            }
        }
        if !changedVillages.isEmpty {
            try await connection.query(
                """
                INSERT INTO village_reports (period, unit_code, persons, employed_new_to_ledger)
                SELECT period, unit_code, persons, employed_new_to_ledger FROM batch_villages
                ON CONFLICT (period, unit_code) DO UPDATE SET persons = excluded.persons,
                    employed_new_to_ledger = excluded.employed_new_to_ledger
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
                SELECT \(LedgerColumns.activityQualified), a.accepted_at
                FROM batch_activity AS b CROSS JOIN LATERAL (
                    SELECT * FROM activity_ledger AS a WHERE a.period = b.period AND a.unit_code = b.unit_code
                    \(Self.probeOnce)
                ) AS a
                """)
            try await connection.query(
                """
                INSERT INTO activity_ledger (\(LedgerColumns.activity)) SELECT \(LedgerColumns.activity) FROM batch_activity
                ON CONFLICT (unit_code, period) DO UPDATE SET record_id = excluded.record_id, counters = excluded.counters,
                    reported_at_ms = excluded.reported_at_ms, agent_id = excluded.agent_id, signature = excluded.signature,
                    accepted_at = now()
                """)
        }
        phases.mark("derived")
        if !changes.isEmpty {
            let columns = IndicatorCatalogue.storedCounts
            try await connection.copyInBinary(
                """
                COPY batch_changes (period, unit_code, \(columns.map(\.rawValue).joined(separator: ", ")))
                FROM STDIN (FORMAT binary)
                """
            ) { writer in
                for (key, counts) in changes {
                    try writer.beginRow(fields: 2 + columns.count)
                    try LedgerColumns.appendDate(key.period, to: &writer)
                    try writer.appendText(key.unit.description)
                    for column in columns { try writer.appendBigInt(counts[column] ?? 0) }
                }
            }
            // In key order: every batch updates the city's row, and a fixed order makes concurrent batches
            // queue instead of deadlocking.
            let sums = columns.map { "\($0.rawValue) = unit_month_counts.\($0.rawValue) + excluded.\($0.rawValue)" }
                .joined(separator: ", ")
            try await connection.query(
                """
                INSERT INTO unit_month_counts (period, unit_code, \(columns.map(\.rawValue).joined(separator: ", ")))
                SELECT period, unit_code, \(columns.map(\.rawValue).joined(separator: ", ")) FROM batch_changes ORDER BY period, unit_code
                ON CONFLICT (period, unit_code) DO UPDATE SET \(sums), updated_at = now()
                """)
        }
        phases.mark("indicators(\(changes.count) units)")
    }
}
