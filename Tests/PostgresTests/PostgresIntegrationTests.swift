import Domain
import Foundation
import Postgres
import Storage
import Synchronization
import TestSupport
import Testing

@Suite("PostgreSQL layer against a real server")
struct PostgresIntegrationTests {
    @Test("1,000,000 rows loaded by COPY arrive complete, with special characters and NULLs intact")
    func copyMillionRows() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.query("CREATE TABLE persons (id bigint PRIMARY KEY, unit text NOT NULL, note text)")
            let total = 1_000_000
            let loaded = try await connection.copyIn("COPY persons (id, unit, note) FROM STDIN") { writer in
                for id in 0..<total {
                    let note: String? = id % 10 == 0 ? nil : "row\t\(id)\\n"
                    try writer.append([id, "1404\(id % 12)", note])
                }
            }
            #expect(loaded == total)
            let row = try #require(
                try await connection.query("SELECT count(*), sum(id), count(note) FROM persons").first)
            let (count, sum, notes) = try row.decode((Int, Int64, Int).self)
            #expect(count == total)
            #expect(sum == Int64(total) * Int64(total - 1) / 2)
            #expect(notes == total - total / 10)
            let sample = try await connection.query("SELECT note FROM persons WHERE id = $1", [7])
            #expect(try sample.first?.decode(String.self, at: 0) == "row\t7\\n")
        }
    }

    @Test("Binary COPY stores each type exactly as the text format does")
    func binaryCopyMatchesText() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let columns = "day, key, id, unit, small, count, big, flag, note, tags"
            for table in ["by_text", "by_binary"] {
                try await connection.query(
                    """
                    CREATE TABLE \(table) (day date, key bytea, id uuid, unit char(12), small smallint, count integer,
                        big bigint, flag boolean, note text, tags text[])
                    """)
            }
            // Every month from 1950 to 2080 (dates before and after PostgreSQL's epoch of 2000-01-01, leap years),
            // and texts the text format must escape.
            let notes: [String?] = [nil, "", "tab\there", "line\nbreak\\", "长治市 \"引号\"", "{a,b}"]
            let tags: [[String]] = [[], ["youth"], ["a,b", "c\"d", "e\\f", "长治", "NULL", ""]]
            struct Row: Sendable {
                let year, month, day: Int
                let key: String
                let id: String
                let note: String?
                let tags: [String]
                let number: Int
            }
            let months = (1950...2080).flatMap { year in (1...12).map { (year, $0) } }
            let rows = months.enumerated().map { index, yearMonth in
                let (year, month) = yearMonth
                return Row(
                    year: year, month: month, day: 1 + index % 28,
                    key: String(repeating: index % 2 == 0 ? "0aFf" : "7e81", count: 8),
                    id: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1" + String(format: "%02x", index % 256),
                    note: notes[index % notes.count], tags: tags[index % tags.count], number: index)
            }
            let textLoaded = try await connection.copyIn("COPY by_text (\(columns)) FROM STDIN") { writer in
                for row in rows {
                    try writer.append([
                        String(format: "%04d-%02d-%02d", row.year, row.month, row.day), "\\x" + row.key,
                        row.id, "140402101001", row.number % 30_000 - 15_000, row.number * 1_000,
                        Int64(row.number) << 40,
                        row.number % 3 == 0, row.note, PostgresArray(row.tags),
                    ])
                }
            }
            let binaryLoaded = try await connection.copyInBinary(
                "COPY by_binary (\(columns)) FROM STDIN (FORMAT binary)"
            ) { writer in
                for row in rows {
                    try writer.beginRow(fields: 10)
                    try writer.appendDate(year: row.year, month: row.month, day: row.day)
                    try writer.appendBytes(hex: row.key)
                    try writer.appendUUID(row.id)
                    try writer.appendText("140402101001")
                    try writer.appendSmallInt(row.number % 30_000 - 15_000)
                    try writer.appendInteger(row.number * 1_000)
                    try writer.appendBigInt(Int64(row.number) << 40)
                    try writer.appendBool(row.number % 3 == 0)
                    try writer.appendOptionalText(row.note)
                    try writer.appendTextArray(row.tags)
                }
            }
            #expect(textLoaded == rows.count)
            #expect(binaryLoaded == rows.count)
            let differences = try await connection.query(
                "SELECT count(*) FROM ((TABLE by_text EXCEPT ALL TABLE by_binary) UNION ALL (TABLE by_binary EXCEPT ALL TABLE by_text)) AS d"
            ).first?.decode(Int.self, at: 0)
            #expect(differences == 0)
            for (small, day) in [(29 - 15_000, "1952-06-02"), (1_000 - 15_000, "2033-05-21")] {
                let stored = try await connection.query("SELECT day::text FROM by_binary WHERE small = $1", [small])
                #expect(try stored.first?.decode(String.self, at: 0) == day)
            }
        }
    }

    @Test("A binary COPY with a wrong row or format loads nothing, names the problem, and leaves the connection usable")
    func binaryCopyFailures() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.query("CREATE TABLE counts (unit text, value integer NOT NULL)")
            await #expect {
                try await connection.copyInBinary("COPY counts (unit, value) FROM STDIN (FORMAT binary)") { writer in
                    try writer.beginRow(fields: 2)
                    try writer.appendText("140402101001")
                    try writer.appendInteger(1)
                    try writer.beginRow(fields: 2)
                    try writer.appendText("140402101002")
                    try writer.beginRow(fields: 2)
                }
            } throws: { error in
                "\(error)".contains("1 field(s) short")
            }
            await #expect {
                try await connection.copyInBinary("COPY counts (unit, value) FROM STDIN (FORMAT binary)") { writer in
                    try writer.beginRow(fields: 2)
                    try writer.appendText("140402101001")
                    try writer.appendSmallInt(70_000)
                }
            } throws: { error in
                "\(error)".contains("70000 does not fit a smallint")
            }
            // Hex and UUIDs are checked before a byte of them is written: odd counts, non-hex digits, misplaced dashes.
            try await connection.query("CREATE TABLE keyed (key bytea, id uuid)")
            for (key, id, named) in [
                ("0aF", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "'0aF' is not whole bytes of hex"),
                ("0g", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "'0g' is not whole bytes of hex"),
                (
                    "0aff", "0f1e2d3c4b5a-6978-8796-a5b4c3d2e1f0-",
                    "'0f1e2d3c4b5a-6978-8796-a5b4c3d2e1f0-' is not a UUID"
                ),
                ("0aff", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg", "is not a UUID"),
            ] {
                await #expect {
                    try await connection.copyInBinary("COPY keyed (key, id) FROM STDIN (FORMAT binary)") { writer in
                        try writer.beginRow(fields: 2)
                        try writer.appendBytes(hex: "00ff")
                        try writer.appendUUID("00000000-0000-4000-8000-000000000000")
                        try writer.beginRow(fields: 2)
                        try writer.appendBytes(hex: key)
                        try writer.appendUUID(id)
                    }
                } throws: { error in
                    "\(error)".contains(named)
                }
            }
            #expect(try await connection.query("SELECT count(*) FROM keyed").first?.decode(Int.self, at: 0) == 0)
            await #expect {
                try await connection.copyInBinary("COPY counts (unit, value) FROM STDIN") { writer in
                    try writer.beginRow(fields: 2)
                    try writer.appendText("140402101001")
                    try writer.appendInteger(1)
                }
            } throws: { error in
                "\(error)".contains("FORMAT binary")
            }
            // The server refuses a row whose field count differs from the table's: nothing of the COPY is kept.
            await #expect(throws: PostgresError.self) {
                try await connection.copyInBinary("COPY counts (unit, value) FROM STDIN (FORMAT binary)") { writer in
                    try writer.beginRow(fields: 2)
                    try writer.appendText("140402101001")
                    try writer.appendInteger(1)
                    try writer.beginRow(fields: 1)
                    try writer.appendText("140402101002")
                }
            }
            #expect(try await connection.query("SELECT count(*) FROM counts").first?.decode(Int.self, at: 0) == 0)
            try await connection.copyInBinary("COPY counts (unit, value) FROM STDIN (FORMAT binary)") { writer in
                try writer.beginRow(fields: 2)
                try writer.appendText("140402101001")
                try writer.appendInteger(7)
            }
            #expect(try await connection.query("SELECT sum(value) FROM counts").first?.decode(Int.self, at: 0) == 7)
        }
    }

    @Test("A failing statement inside a transaction leaves nothing behind")
    func rollbackOnFailure() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.query("CREATE TABLE ledger (id integer PRIMARY KEY)")
            await #expect {
                try await connection.withTransaction { transaction in
                    for id in 1...100 { try await transaction.query("INSERT INTO ledger (id) VALUES ($1)", [id]) }
                    try await transaction.copyIn("COPY ledger (id) FROM STDIN") { try $0.append([101]) }
                    try await transaction.query("INSERT INTO ledger (id) VALUES ($1)", [5])
                }
            } throws: { error in
                (error as? PostgresError)?.sqlState == PostgresError.uniqueViolation
            }
            let count = try await connection.query("SELECT count(*) FROM ledger").first?.decode(Int.self, at: 0)
            #expect(count == 0)
            // The connection is usable again after the rollback.
            _ = try await connection.withTransaction { try await $0.query("INSERT INTO ledger (id) VALUES ($1)", [1]) }
            #expect(try await connection.query("SELECT id FROM ledger").count == 1)
        }
    }

    @Test("A COPY whose rows fail is rolled back whole, and the error names the problem")
    func copyFailure() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.query("CREATE TABLE counts (unit text, value integer NOT NULL)")
            await #expect {
                try await connection.copyIn("COPY counts (unit, value) FROM STDIN") { writer in
                    try writer.append(["140403", 1])
                    try writer.append(["140404", "many"])
                }
            } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return error.sqlState == "22P02" && error.kind == .server
            }
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await connection.copyIn("COPY counts (unit, value) FROM STDIN") { writer in
                    try writer.append(["140403", 1])
                    throw Abort()
                }
            }
            #expect(try await connection.query("SELECT count(*) FROM counts").first?.decode(Int.self, at: 0) == 0)
        }
    }

    @Test("Parameters are never spliced into SQL: a hostile string is stored as it is")
    func parametersAreNotSQL() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.query("CREATE TABLE notes (body text)")
            let hostile = "x'); DROP TABLE notes; --"
            try await connection.query("INSERT INTO notes (body) VALUES ($1)", [hostile])
            let stored = try await connection.query("SELECT body FROM notes").decode((String).self)
            #expect(stored == [hostile])
        }
    }

    @Test("Array parameters keep every element whole: commas, braces, quotes, backslashes, NULL and empty strings")
    func arrayParameters() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let hostile = ["plain", "a,b", "{c}", "say \"hi\"", "back\\slash", "NULL", "", " spaced ", "中文"]
            let back = try await connection.query("SELECT unnest($1::text[])", [PostgresArray(hostile)]).decode(
                (String).self)
            #expect(back == hostile)
            let count = try await connection.query("SELECT cardinality($1::text[])", [PostgresArray(hostile)]).decode(
                (Int).self)
            #expect(count == [hostile.count])
            let codes = try await connection.query(
                "SELECT count(*) FROM unnest($1::bpchar[]) AS code WHERE code = ANY($1::bpchar[])",
                [PostgresArray(describing: [140_403_001_001, 140_404_000_000])]
            ).decode((Int).self)
            #expect(codes == [2])
            #expect(PostgresArray([String]()).postgresText == "{}")
        }
    }

    @Test("Rows decode into Swift types, NULL into Optional, and a wrong type is a clear error")
    func typedDecoding() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let rows = try await connection.query(
                "SELECT 42::bigint, 'text', NULL::integer, true, 2.5::float8, '\\x00ff'::bytea, gen_random_uuid()")
            let row = try #require(rows.first)
            let (number, text, missing, flag, rate, bytes) = try row.decode(
                (Int64, String, Int?, Bool, Double, PostgresBytes).self)
            #expect(number == 42 && text == "text" && missing == nil && flag && rate == 2.5)
            #expect(bytes.bytes == [0, 255])
            #expect(rows.columns.count == 7)
            #expect(throws: PostgresError.self) { try row.decode(Int.self, at: 1) }
            #expect(throws: PostgresError.self) { try row.decode(Int.self, at: 2) }
            #expect(throws: PostgresError.self) { try row.decode(Int.self, column: "nope") }
        }
    }

    @Test("Large results stream row by row")
    func streaming() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let seen = Atomic<Int>(0)
            try await connection.forEachRow("SELECT g FROM generate_series(1, $1) g", [200_000]) { row in
                let value = try row.decode(Int.self, at: 0)
                seen.add(value > 0 ? 1 : 0, ordering: .relaxed)
            }
            #expect(seen.load(ordering: .relaxed) == 200_000)
            await #expect(throws: PostgresError.self) {
                try await connection.forEachRow("SELECT 1/0") { _ in }
            }
            #expect(try await connection.query("SELECT 1").count == 1)
        }
    }

    @Test("A pool of 3 serves 12 concurrent tasks on at most 3 server connections")
    func poolConcurrency() async throws {
        try await withTestDatabase { database in
            let pool = try PostgresClient(url: database.url, maxConnections: 3)
            let pids = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            try await connection.query("SELECT pg_sleep(0.05)")
                            return try await connection.query("SELECT pg_backend_pid()").first?.decode(Int.self, at: 0)
                                ?? 0
                        }
                    }
                }
                var pids: [Int] = []
                for try await pid in group { pids.append(pid) }
                return pids
            }
            #expect(pids.count == 12)
            #expect(Set(pids).count <= 3)
            #expect(Set(pids).count >= 2, "work was spread over several connections")
        }
    }

    @Test("Migrations apply once, are recorded, and an edited migration is refused")
    func migrations() async throws {
        try await withTestDatabase { database in
            let first = try await database.connect()
            let second = try await database.connect()
            let migrator = try Schema.migrator()
            async let a = migrator.migrate(first)
            async let b = migrator.migrate(second)
            let applied = try await [a, b]
            #expect(applied.flatMap { $0 }.sorted() == Schema.migrations.map(\.version))
            #expect(try await migrator.migrate(first).isEmpty)
            #expect(try await migrator.appliedVersions(first) == Schema.migrations.map(\.version))

            let edited = try PostgresMigrator(migrations: [
                PostgresMigration(version: 1, name: "consumer offsets", sql: "SELECT 1")
            ])
            await #expect {
                try await edited.migrate(first)
            } throws: { ($0 as? PostgresError)?.kind == .migration }

            let broken = try PostgresMigrator(
                migrations: Schema.migrations + [
                    PostgresMigration(version: 999, name: "broken", sql: "CREATE TABLE x (; ")
                ])
            await #expect(throws: PostgresError.self) { try await broken.migrate(first) }
            #expect(try await migrator.appliedVersions(first).contains(999) == false)
        }
    }

    @Test("A bad URL or a stopped server gives a clear error, never a crash, and never the password")
    func connectionErrors() async throws {
        await #expect {
            _ = try await PostgresConnection.connect(url: "postgresql://user:s3cret@127.0.0.1:notaport/db")
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.kind == .invalidURL && !"\(error)".contains("s3cret")
        }
        await #expect {
            _ = try await PostgresConnection.connect(url: "postgresql://user:s3cret@127.0.0.1:1/db?connect_timeout=2")
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            let text = "\(error)"
            return error.kind == .connection && text.contains("127.0.0.1") && !text.contains("s3cret")
                && text.contains("***")
        }
        #expect(throws: PostgresError.self) { try PostgresClient(url: "postgresql://[::1") }
    }
}

@Suite("Schema against the catalogue")
struct SchemaCatalogueTests {
    @Test("unit_month_counts has one column per stored indicator, and the long view lists every one")
    func countColumns() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            _ = try await Schema.migrator().migrate(connection)
            let columns = try await connection.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'unit_month_counts' ORDER BY ordinal_position"
            ).map { try $0.decode(String.self, at: 0) }
            let stored = (IndicatorCatalogue.counts + IndicatorCatalogue.activity).map(\.id.rawValue)
            // Columns added by later migrations come after updated_at; every statement names its columns.
            #expect(
                Set(columns) == Set(["period", "unit_code"] + stored + ["updated_at"])
                    && columns.count == stored.count + 3)
            try await connection.query(
                "INSERT INTO unit_month_counts (period, unit_code, employed) VALUES ('2024-10-01', '140400000000', 7)")
            let view = try await connection.query("SELECT indicator FROM indicator_values ORDER BY indicator").map {
                try $0.decode(String.self, at: 0)
            }
            #expect(view == stored.sorted())
        }
    }
}
