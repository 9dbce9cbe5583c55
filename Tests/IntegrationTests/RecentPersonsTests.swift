import DevStack
import Domain
import Foundation
import Postgres
import Storage
import TestSupport
import Testing
import Wire

@testable import Processor

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The processor's memory of recent persons, and the count of ledger writes that says when it may be used.
@Suite struct RecentPersonsTests {
    static let october = Period(year: 2024, month: 10)!

    static func record(_ key: String, _ period: Period = october, _ status: EmploymentStatus = .employed)
        -> PersonStatusRecord
    {
        person(key, unit: "140403001001", period: period.description, status, agent: "a")
    }

    static func copy(_ records: [PersonStatusRecord], on connection: PostgresConnection) async throws {
        try await connection.copyIn("COPY person_ledger (\(LedgerColumns.person)) FROM STDIN") { writer in
            for record in records { try writer.append(LedgerColumns.row(record)) }
        }
    }

    @Test("Every other writer of the ledger tables moves the count a transaction sees; its own writes do not")
    func ledgerWritesSeeOtherWriters() async throws {
        try await withTestDatabase { database in
            let member = try await database.connect()
            let other = try await database.connect()
            _ = try await Schema.migrator().migrate(member)
            try await BatchStore.ensureMonths([Self.october, Self.october.next], on: member)
            let store = BatchStore(connection: member)

            // The member's own batch: its COPY draws, and it can tell the draw is its own.
            let (start, end) = try await member.withTransaction { _ in
                let start = try await store.ledgerWrites()
                try await Self.copy([Self.record("1")], on: member)
                return (start, try await store.ledgerWrites())
            }
            #expect(start.own == 0)
            #expect(end.own == 1 && end.drawn == start.drawn + 1 && end.others == start.others)
            var seen = try await store.ledgerWrites()
            #expect(seen.others == end.drawn, "nobody else wrote: the next batch sees the count its own left")

            // Each kind of write by anyone else moves it.
            let writes = [
                "INSERT INTO person_ledger (\(LedgerColumns.person)) SELECT \(LedgerColumns.person) FROM person_ledger WHERE false",
                "UPDATE person_ledger SET birth_year = 1991",
                "INSERT INTO household_members VALUES ('2024-10-01', '140403001001', '\\x01', 1, 1)",
                "UPDATE village_reports SET persons = persons",
                "DELETE FROM household_members",
                "TRUNCATE person_ledger",
            ]
            for sql in writes {
                try await other.execute(script: sql)
                let now = try await store.ledgerWrites()
                #expect(now.others > seen.others, "\(sql)")
                seen = now
            }
            try await Self.copy([Self.record("2")], on: other)
            let afterCopy = try await store.ledgerWrites()
            #expect(afterCopy.others > seen.others, "COPY by another connection")

            // Another writer commits while the member's batch runs: its end shows it.
            let interleaved = try await member.withTransaction { _ in
                let start = try await store.ledgerWrites()
                try await Self.copy([Self.record("3", Self.october.next)], on: other)
                try await Self.copy([Self.record("4")], on: member)
                let end = try await store.ledgerWrites()
                return end.others != start.others
            }
            #expect(interleaved)
        }
    }

    @Test("What a batch learned is used only while current, its own entries survive another writer, months age out")
    func memoryRules() {
        let october = Self.october
        var recent = RecentPersons(capacity: 5)
        let writes = LedgerWrites(drawn: 10, own: 2)
        #expect(!recent.isCurrent(connection: 1, writes: LedgerWrites(drawn: 10, own: 0)), "nothing known yet")

        let stored = Self.record("a", october)
        let read = [
            PersonMonthKey(person: stored.person, period: october),
            PersonMonthKey(person: stored.person, period: october.next),
        ]
        let written = Self.record("b", october.next)
        recent.settle((read, [read[0]: stored], [written]), current: true, connection: 1, writes: writes)
        #expect(recent.count == 3)
        #expect(recent.isCurrent(connection: 1, writes: LedgerWrites(drawn: 10, own: 0)))
        #expect(!recent.isCurrent(connection: 2, writes: LedgerWrites(drawn: 10, own: 0)), "another connection")
        #expect(!recent.isCurrent(connection: 1, writes: LedgerWrites(drawn: 11, own: 0)), "someone else wrote")

        let wanted: Set<PersonMonthKey> = [
            PersonMonthKey(person: stored.person, period: october),
            PersonMonthKey(person: stored.person, period: october.next),
            PersonMonthKey(person: written.person, period: october.next),
            PersonMonthKey(person: written.person, period: october),
        ]
        let split = recent.split(wanted)
        #expect(
            split.known.count == 2
                && split.known[PersonMonthKey(person: stored.person, period: october)] == stored)
        #expect(split.absent == 1)
        #expect(split.unknown == [PersonMonthKey(person: written.person, period: october)])

        // A batch during which someone else wrote keeps only its own entries.
        let next = Self.record("c", october.next)
        recent.settle(([], [:], [next]), current: false, connection: 1, writes: LedgerWrites(drawn: 14, own: 1))
        #expect(recent.count == 1)
        #expect(recent.split(wanted).unknown.count == wanted.count)
        #expect(recent.isCurrent(connection: 1, writes: LedgerWrites(drawn: 14, own: 0)))

        // Over capacity, whole months go, oldest first.
        let many = (0..<4).map { Self.record(String($0), october.advanced(by: 2)) }
        let old = (4..<6).map { Self.record(String($0), october) }
        recent.settle(([], [:], old + many), current: true, connection: 1, writes: LedgerWrites(drawn: 15, own: 1))
        #expect(recent.count == 5, "October's two went, November's one and December's four stay")
        #expect(recent.split([PersonMonthKey(personKey: old[0].personKey, period: october)]).unknown.count == 1)

        recent.removeAll()
        #expect(recent.count == 0 && !recent.isCurrent(connection: 1, writes: LedgerWrites(drawn: 15, own: 0)))
    }

    @Test(
        "After a commit the memory settles behind the next batch, which waits for it before it reads; forgetting empties it"
    )
    func settleRunsBehind() async {
        let remembered = RememberedPersons(capacity: 1_000_000)
        // Enough pairs that the settle still runs when the split asks: a split that did not wait would find nothing.
        let keys = (0..<200_000).map {
            PersonMonthKey(personKey: String(format: "%064x", $0), period: Self.october)
        }
        let stored = Self.record(String(format: "%064x", 200_000))
        let storedKey = PersonMonthKey(person: stored.person, period: Self.october)
        await remembered.settle(
            (keys + [storedKey], [storedKey: stored], []), current: true, connection: 1,
            writes: LedgerWrites(drawn: 7, own: 3))
        let wanted = Set(keys.suffix(10) + [storedKey])
        let split = await remembered.split(wanted, connection: 1, writes: LedgerWrites(drawn: 7, own: 0))
        #expect(split.current)
        #expect(split.absent == 10 && split.known == [storedKey: stored] && split.unknown.isEmpty)
        #expect(await remembered.count() == 200_001)

        let elsewhere = await remembered.split(wanted, connection: 2, writes: LedgerWrites(drawn: 7, own: 0))
        #expect(!elsewhere.current && Set(elsewhere.unknown) == wanted, "another connection reads everything")

        await remembered.forget()
        let after = await remembered.split(wanted, connection: 1, writes: LedgerWrites(drawn: 7, own: 0))
        #expect(!after.current && Set(after.unknown) == wanted && after.known.isEmpty)
    }
}

extension SharedStackTests {
    @Test(
        "A processor's memory of recent persons is not used once another writer stored a person it remembers as absent"
    )
    func recentPersonsAfterAnotherWriter() async throws {
        try await Pipeline.with { pipeline in
            let agent = try await pipeline.agent(for: "140403000000")
            let signer = agent.signer
            func signed(_ key: String, _ period: String, _ status: EmploymentStatus, at: Int64) -> PersonStatusRecord {
                var record = person(
                    key, unit: "140403001001", period: period, status, registered: status == .unemployed,
                    agent: agent.agentID, reportedAt: at)
                signer.sign(&record)
                return record
            }
            let metricsPort = Int.random(in: 30_000..<40_000)
            let member = try pipeline.startProcessor(
                ["--batch-size", "100", "--metrics-port", String(metricsPort), "--alert-rules", "none"],
                log: "member.log")
            defer {
                kill(member.pid, SIGKILL)
                _ = ChildProcess.wait(member.pid)
            }
            var produced: Int64 = try await pipeline.committedOffsets()
            func processed(_ records: [PersonStatusRecord]) async throws -> Bool {
                try await produce(records.map { try message($0) })
                produced += Int64(records.count)
                return try await waitUntil(60) { try await pipeline.committedOffsets() >= produced }
            }
            // October for persons 1 and 2, then 2's November: that batch takes October and November from memory.
            #expect(
                try await processed([
                    signed("1", "2024-10", .unemployed, at: 100), signed("2", "2024-10", .employed, at: 100),
                ]))
            #expect(try await processed([signed("2", "2024-11", .employed, at: 200)]))
            let metrics = try await scrapeMetrics(port: metricsPort)
            let fromMemory = metricValue(metrics, "empmon_processor_person_months_from_memory_total")
            #expect((fromMemory ?? 0) >= 2, "\(metrics.prefix(1500))")

            // While the member is stopped (between batches, and with no alert evaluation that could hold a lock),
            // another group stores 1's November, which the member remembers as absent.
            kill(member.pid, SIGSTOP)
            let other = "other-\(pipeline.group)"
            try await ConsumerOffsets.preset(
                group: other, try await recordTopicEnds(), on: try await pipeline.database.connect())
            let november = signed("1", "2024-11", .employed, at: 200)
            try await produce([try message(november)])
            produced += 1
            let elsewhere = try pipeline.run([
                "process", "--group", other, "--metrics-port", "0", "--linger-ms", "100", "--stop-when-caught-up",
                "--accept-aged-out-records",
                "--alert-rules", "none",
            ])
            #expect(elsewhere.status == 0, "\(elsewhere.output.suffix(1500))")
            kill(member.pid, SIGCONT)

            // The member then reads the same November: stored already, so a replay, counted once.
            #expect(try await waitUntil(60) { try await pipeline.committedOffsets() >= produced })
            #expect(kill(member.pid, 0) == 0, "the member is still running")
            let log = (try? String(contentsOfFile: member.log, encoding: .utf8)) ?? ""
            #expect(!log.contains("no retry mends"), "\(log.suffix(2000))")
            let figures = try pipeline.run([
                "indicators", "--unit", "140403001000", "--period", "2024-11", "--format", "json",
            ]).output
            // Person 1, registered unemployed in October, works in November: re-employed once, not twice.
            #expect(figures.contains("\"reemployed\" : 1") && figures.contains("\"new_employment\" : 1"), "\(figures)")
            let verify = try pipeline.run(["verify"])
            #expect(verify.status == 0, "\(verify.output.suffix(1500))")
        }
    }
}
