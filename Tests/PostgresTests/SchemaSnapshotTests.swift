import DevStack
import Foundation
import Postgres
import Storage
import TestSupport
import Testing

/// `Sources/Storage/schema.sql` is what a newcomer reads to see today's tables: the migrations applied one after
/// another, dumped by pg_dump. It must say what the migrations make.
@Suite("The schema snapshot")
struct SchemaSnapshotTests {
    static let snapshotPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/Storage/schema.sql").standardized.path

    @Test("The migrations make exactly the schema of Sources/Storage/schema.sql")
    func migrationsMakeTheCommittedSchema() async throws {
        try await withTestDatabase { database in
            try await Schema.migrator().migrate(try await database.connect())
            let dumped = try Self.dumpSchema(url: database.url)
            if ProcessInfo.processInfo.environment["EMPMON_WRITE_SCHEMA"] == "1" {
                try Data(dumped.utf8).write(to: URL(fileURLWithPath: Self.snapshotPath))
            }
            let committed = try String(contentsOfFile: Self.snapshotPath, encoding: .utf8)
            let (dumpedLines, committedLines) = (dumped.split(separator: "\n"), committed.split(separator: "\n"))
            let firstDifference =
                zip(dumpedLines, committedLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(dumpedLines.count, committedLines.count)
            #expect(
                dumped == committed,
                """
                schema.sql differs from the migrated schema at line \(firstDifference + 1): \
                '\(firstDifference < dumpedLines.count ? dumpedLines[firstDifference] : "(end)")' made, \
                '\(firstDifference < committedLines.count ? committedLines[firstDifference] : "(end)")' committed. \
                A new migration changes it: EMPMON_WRITE_SCHEMA=1 bash scripts/test.sh --filter SchemaSnapshotTests
                """)
        }
    }

    @Test("The normalised dump keeps statements and drops pg_dump's settings and comments")
    func normalisationKeepsOnlyStatements() {
        let dump = """
            --
            -- PostgreSQL database dump
            --
            SET statement_timeout = 0;
            SELECT pg_catalog.set_config('search_path', '', false);


            CREATE TABLE public.t (
                id integer
            );
            \\restrict abc

            """
        #expect(Self.normalise(dump) == "CREATE TABLE public.t (\n    id integer\n);\n")
    }

    /// The schema as pg_dump writes it, without owners, privileges, settings or pg_dump's own comments, blank runs
    /// collapsed: what the migrations decide and nothing the server or the dump's date does.
    static func dumpSchema(url: String) throws -> String {
        let (status, output) = try ChildProcess.run(
            try pgDump(), ["--schema-only", "--no-owner", "--no-privileges", "--dbname", url])
        guard status == 0 else { throw PostgresError(.usage, "pg_dump failed (\(status)): \(output)") }
        return header + normalise(output)
    }

    static let header = """
        -- The schema the migrations in Migrations/ make, as pg_dump writes it without owners, privileges and settings.
        -- Do not edit: SchemaSnapshotTests writes it (EMPMON_WRITE_SCHEMA=1 bash scripts/test.sh --filter SchemaSnapshotTests)
        -- and fails while it differs from what the migrations make.


        """

    static func normalise(_ dump: String) -> String {
        var lines: [Substring] = []
        for line in dump.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("--") || line.hasPrefix("SET ") || line.hasPrefix("SELECT pg_catalog.set_config")
                || line.hasPrefix("\\restrict") || line.hasPrefix("\\unrestrict")
            {
                continue
            }
            if line.trimmingCharacters(in: .whitespaces).isEmpty, lines.last?.isEmpty ?? true { continue }
            lines.append(line.trimmingCharacters(in: .whitespaces).isEmpty ? "" : line)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The newest installed server's pg_dump (the same major version as the test server's).
    static func pgDump() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) })
        where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/pg_dump") {
            return "\(root)/\(version)/bin/pg_dump"
        }
        throw PostgresError(.usage, "no pg_dump under \(root)")
    }
}
