import DevStack
import Domain
import Foundation
import Kafka
import Logging
import Postgres
import TestSupport
import Testing
import Wire

/// Sends records straight to the record topics, as a buggy or hostile agent could.
func produce(_ messages: [KafkaProducerMessage]) async throws {
    let settings = try #require(try DevHome.resolve(nil).loadSettings())
    var quiet = Logger(label: "test")
    quiet.logLevel = .critical
    let producer = try KafkaProducer(
        configuration: KafkaProducerConfiguration(bootstrapServers: settings.kafkaBootstrap), logger: quiet)
    for message in messages { _ = try await producer.send(message) }
    try await producer.flush(timeout: .seconds(30))
}

func message(_ record: PersonStatusRecord, agent: String? = nil) throws -> KafkaProducerMessage {
    KafkaProducerMessage(
        topic: WireTopics.personStatus, key: record.unit.countyKey, value: try Wire.encode(record),
        headers: [
            KafkaHeader(key: "empmon.kind", string: "person"),
            KafkaHeader(key: "empmon.agent", string: agent ?? record.agentID),
            KafkaHeader(key: "empmon.record", string: record.recordID.text),
        ])
}

func person(
    _ key: String, unit: String, period: String, _ status: EmploymentStatus, registered: Bool = false, agent: String,
    reportedAt: Int64 = 1_000
) -> PersonStatusRecord {
    PersonStatusRecord(
        recordID: .random(), unit: DivisionCode(unit)!, period: Period(period)!,
        personKey: String(repeating: key, count: 64),
        householdKey: String(repeating: key, count: 64), birthYear: 1990, sex: .female, status: status,
        employmentForm: status == .employed ? .employee : nil, workLocation: status == .employed ? .local : nil,
        registeredUnemployed: registered, reportedAtMilliseconds: reportedAt, agentID: agent)
}

/// Every dead letter whose record id is one of `ids`.
func deadLetters(for ids: Set<String>) async throws -> [Wire.DeadLetter] {
    try await deadLetters(where: { ids.contains($0.recordID) }, until: { Set($0.map(\.recordID)) == ids })
}

/// The dead letters `wanted` accepts, read from the topic's beginning by a group of its own until `complete`
/// holds for them or 90 seconds pass (the caller asserts on what came back).
func deadLetters(
    where wanted: (Wire.DeadLetter) -> Bool, until complete: ([Wire.DeadLetter]) -> Bool
) async throws -> [Wire.DeadLetter] {
    let consumer = try checkingConsumer(group: "dlq")
    try await consumer.subscribe(topics: [WireTopics.deadLetter])
    var found: [Wire.DeadLetter] = []
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .seconds(90))
    while clock.now < deadline, !complete(found) {
        let result = try await consumer.poll(maxMessages: 5000, timeout: .milliseconds(200))
        if case .assigned(let partitions) = result.rebalance {
            try await consumer.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .beginning) }))
        }
        found += try result.messages.map { try Wire.decodeDeadLetter($0.value) }.filter(wanted)
    }
    try await consumer.close()
    return found
}

extension SharedStackTests {
    @Test(
        "Malformed, unsigned, tampered, unknown, revoked, out-of-scope and invalid records: rejected with their reason; the rest counted"
    )
    func rejections() async throws {
        try await Pipeline.with { pipeline in
            let luzhou = try await pipeline.agent(for: "140403000000")
            let other = try await pipeline.agent(for: "140404000000")
            #expect(try pipeline.run(["agent", "revoke", other.agentID]).status == 0)
            let village = "140403001001"
            let elsewhere = "140404100200"
            let signer = luzhou.signer

            var good: [PersonStatusRecord] = []
            for key in ["1", "2", "3", "4", "5"] {
                var record = person(
                    key, unit: village, period: "2024-10", key == "5" ? .unemployed : .employed, agent: luzhou.agentID)
                signer.sign(&record)
                good.append(record)
            }
            let unsigned = person("6", unit: village, period: "2024-10", .employed, agent: luzhou.agentID)
            var tampered = person("7", unit: village, period: "2024-10", .unemployed, agent: luzhou.agentID)
            signer.sign(&tampered)
            tampered.registeredUnemployed = true
            var unknown = person("8", unit: village, period: "2024-10", .employed, agent: "agent-nobody")
            RecordSigner(secret: Array(repeating: 7, count: 32)).sign(&unknown)
            // Signed after its agent's revocation (what it signed before stays good).
            var revoked = person(
                "9", unit: elsewhere, period: "2024-10", .employed, agent: other.agentID,
                reportedAt: Int64(Date().timeIntervalSince1970 * 1000) + 1_000)
            other.signer.sign(&revoked)
            var outOfScope = person("a", unit: elsewhere, period: "2024-10", .employed, agent: luzhou.agentID)
            signer.sign(&outOfScope)
            var invalid = person("b", unit: village, period: "2024-10", .employed, agent: luzhou.agentID)
            invalid.employmentForm = nil
            signer.sign(&invalid)
            let malformedID = RecordID.random().text
            let malformed = KafkaProducerMessage(
                topic: WireTopics.personStatus, key: "140403", value: [0xff, 0x01, 0x02, 0x03],
                headers: [
                    KafkaHeader(key: "empmon.agent", string: luzhou.agentID),
                    KafkaHeader(key: "empmon.record", string: malformedID),
                ])

            let expected: [String: String] = [
                unsigned.recordID.text: "signature.invalid", tampered.recordID.text: "signature.invalid",
                unknown.recordID.text: "agent.unknown", revoked.recordID.text: "agent.revoked",
                outOfScope.recordID.text: "scope.outside_agent", invalid.recordID.text: "employment_form.missing",
                malformedID: "payload.malformed",
            ]
            try await produce(
                try [good[0], good[1], unsigned, tampered, unknown, revoked, outOfScope, invalid, good[2]].map {
                    try message($0)
                }
                    + [malformed] + [good[3], good[4]].map { try message($0) })
            _ = try pipeline.processAll()

            let connection = try await pipeline.database.connect()
            var stored: [String: String] = [:]
            for row in try await connection.query(
                "SELECT record_id, reason_code, message_en FROM rejections WHERE record_id = ANY($1::text[])",
                ["{" + expected.keys.joined(separator: ",") + "}"])
            {
                let (id, reason, message) = try row.decode((String, String, String).self)
                stored[id] = reason
                #expect(!message.isEmpty)
            }
            #expect(stored == expected)
            let letters = try await deadLetters(for: Set(expected.keys))
            #expect(
                Dictionary(letters.map { ($0.recordID, $0.reasonCode) }, uniquingKeysWith: { first, _ in first })
                    == expected)
            #expect(letters.allSatisfy { $0.topic == WireTopics.personStatus && !$0.payload.isEmpty })

            let indicators = try pipeline.run([
                "indicators", "--unit", village, "--period", "2024-10", "--format", "json",
            ])
            #expect(indicators.output.contains("\"labour_force\" : 5"), "\(indicators.output)")
            #expect(indicators.output.contains("\"employed\" : 4"), "\(indicators.output)")
            #expect(try pipeline.run(["verify"]).status == 0)
        }
    }

    @Test("A late October after November, then a corrected October: November's re-employment follows each")
    func lateAndCorrectedOctober() async throws {
        try await Pipeline.with { pipeline in
            let agent = try await pipeline.agent(for: "140403000000")
            let signer = agent.signer
            // Person 1 moves village between October and November; re-employment counts where they are in November.
            let october = "140403001001"
            let november = "140403001002"
            func signed(_ record: PersonStatusRecord) -> PersonStatusRecord {
                var copy = record
                signer.sign(&copy)
                return copy
            }
            func novemberFigures() throws -> String {
                try pipeline.run(["indicators", "--unit", "140403001000", "--period", "2024-11", "--format", "json"])
                    .output
            }
            try await produce(
                [
                    signed(
                        person("1", unit: november, period: "2024-11", .employed, agent: agent.agentID, reportedAt: 100)
                    ),
                    signed(
                        person("2", unit: november, period: "2024-11", .employed, agent: agent.agentID, reportedAt: 100)
                    ),
                ].map { try message($0) })
            _ = try pipeline.processAll()
            #expect(try novemberFigures().contains("\"reemployed\" : 0"))

            try await produce(
                [
                    signed(
                        person(
                            "1", unit: october, period: "2024-10", .unemployed, registered: true, agent: agent.agentID,
                            reportedAt: 200)),
                    signed(
                        person("2", unit: october, period: "2024-10", .employed, agent: agent.agentID, reportedAt: 200)),
                ].map { try message($0) })
            _ = try pipeline.processAll()
            let late = try novemberFigures()
            #expect(late.contains("\"reemployed\" : 1") && late.contains("\"unemployed_last_month\" : 1"), "\(late)")
            #expect(late.contains("\"placement_rate\" : 1") && late.contains("\"new_employment\" : 1"), "\(late)")
            #expect(try pipeline.run(["verify"]).status == 0)

            // The village corrects October: person 1 was not registered after all. A stale copy of the first
            // version arriving afterwards changes nothing.
            let stale = signed(
                person(
                    "1", unit: october, period: "2024-10", .unemployed, registered: true, agent: agent.agentID,
                    reportedAt: 150))
            try await produce(
                [
                    signed(
                        person(
                            "1", unit: october, period: "2024-10", .unemployed, agent: agent.agentID, reportedAt: 300)),
                    stale,
                ].map { try message($0) })
            _ = try pipeline.processAll()
            let corrected = try novemberFigures()
            #expect(
                corrected.contains("\"reemployed\" : 0") && corrected.contains("\"unemployed_last_month\" : 0"),
                "\(corrected)")
            #expect(
                corrected.contains("\"new_employment\" : 1") && !corrected.contains("placement_rate"), "\(corrected)")
            let superseded = try await pipeline.query(
                "SELECT count(*)::bigint FROM person_ledger_superseded", as: Int64.self)
            #expect(superseded == [1], "the first October version is kept as superseded")
            #expect(try pipeline.run(["verify"]).status == 0)
        }
    }
}

extension SharedStackTests {
    @Test(
        "An error no retry mends (a CHECK violation from a trigger) stops the processor with the reason, and no offset moves"
    )
    func permanentErrorStopsTheProcessor() async throws {
        try await Pipeline.with { pipeline in
            let luzhou = try await pipeline.agent(for: "140403000000")
            let signer = luzhou.signer
            let records = ["1", "2", "3"].map { key -> PersonStatusRecord in
                var record = person(key, unit: "140403001001", period: "2024-10", .employed, agent: luzhou.agentID)
                signer.sign(&record)
                return record
            }
            let connection = try await pipeline.database.connect()
            try await connection.query(
                """
                CREATE FUNCTION injected_refusal() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'injected by the test: unit_month_counts takes no rows' USING ERRCODE = 'check_violation'; END $$
                """)
            try await connection.query(
                "CREATE TRIGGER injected_refusal BEFORE INSERT OR UPDATE ON unit_month_counts FOR EACH ROW EXECUTE FUNCTION injected_refusal()"
            )
            let offsetsBefore = try await pipeline.committedOffsets()
            try await produce(try records.map { try message($0) })

            let (pid, log) = try pipeline.startProcessor(["--batch-size", "100"], log: "permanent.log")
            var status: Int32 = 0
            var exited = false
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(90))
            while clock.now < deadline {
                if waitpid(pid, &status, WNOHANG) == pid {
                    exited = true
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            if !exited {
                kill(pid, SIGKILL)
                _ = ChildProcess.wait(pid)
            }
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(exited, "the processor was still retrying after 90 s: \(output.suffix(1500))")
            #expect(exited && status != 0, "it stopped with a failure status")
            #expect(output.contains("no retry mends"), "\(output.suffix(1500))")
            #expect(
                output.contains("injected by the test") && output.contains("23514"),
                "the log names the reason and its SQLSTATE")
            #expect(output.components(separatedBy: "retrying").count == 1, "a permanent error is not retried")
            #expect(try await pipeline.committedOffsets() == offsetsBefore, "no offset moved")
            #expect(try await pipeline.query("SELECT count(*)::bigint FROM person_ledger", as: Int64.self) == [0])

            // Once the operator has mended the cause, a restart reads the same batch again and loses nothing.
            try await connection.query("DROP TRIGGER injected_refusal ON unit_month_counts")
            _ = try pipeline.processAll()
            #expect(try await pipeline.committedOffsets() == offsetsBefore + 3)
            let indicators = try pipeline.run([
                "indicators", "--unit", "140403001001", "--period", "2024-10", "--format", "json",
            ])
            #expect(indicators.output.contains("\"employed\" : 3"), "\(indicators.output)")
        }
    }
}

extension SharedStackTests {
    @Test(
        "10,000 random and mutated messages: the processor keeps running, each lands in rejections and on the dead-letter topic, the good records between them all count"
    )
    func randomAndMutatedMessages() async throws {
        try await Pipeline.with { pipeline in
            let luzhou = try await pipeline.agent(for: "140403000000")
            let signer = luzhou.signer
            let starts = Dictionary(
                uniqueKeysWithValues: try await pipeline.query(
                    "SELECT partition::bigint * 10000000000 + next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2",
                    [pipeline.group, WireTopics.personStatus], as: Int64.self
                ).map { (Int32($0 / 10_000_000_000), $0 % 10_000_000_000) })

            var random = SeededGenerator(seed: 20_261_202)
            var good: [PersonStatusRecord] = []
            var messages: [KafkaProducerMessage] = []
            let headerKeys = [
                "empmon.kind", "empmon.agent", "empmon.record", "x-\(UInt8.random(in: 0...255, using: &random))",
            ]
            for index in 0..<10_000 {
                if index % 500 == 0 {
                    var record = person("0", unit: "140403001001", period: "2024-10", .employed, agent: luzhou.agentID)
                    record.personKey = String(repeating: String(format: "%02x", good.count + 1), count: 32)
                    record.householdKey = record.personKey
                    signer.sign(&record)
                    good.append(record)
                    messages.append(try message(record))
                }
                var value: [UInt8]
                if index % 2 == 0 {
                    value = (0..<Int.random(in: 0...300, using: &random)).map { _ in
                        UInt8.random(in: 0...255, using: &random)
                    }
                } else {
                    // A signed record with bytes flipped, cut short or appended to: it must not decode to the very record.
                    let original = try #require(good.last)
                    value = try Wire.encode(original)
                    repeat {
                        switch Int.random(in: 0..<3, using: &random) {
                        case 0:
                            value[Int.random(in: 0..<value.count, using: &random)] ^= UInt8.random(
                                in: 1...255, using: &random)
                        case 1: value.removeLast(Int.random(in: 1...min(40, value.count), using: &random))
                        default:
                            value += (0..<Int.random(in: 1...20, using: &random)).map { _ in
                                UInt8.random(in: 0...255, using: &random)
                            }
                        }
                    } while value.isEmpty ? false : (try? Wire.decodePersonStatus(value)) == original
                }
                let headers = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                    KafkaHeader(
                        key: headerKeys[Int.random(in: 0..<headerKeys.count, using: &random)],
                        value: Bool.random(using: &random)
                            ? nil
                            : (0..<Int.random(in: 0...40, using: &random)).map { _ in
                                UInt8.random(in: 0...255, using: &random)
                            })
                }
                messages.append(
                    KafkaProducerMessage(
                        topic: WireTopics.personStatus, key: ["140403", "140404", "140411"][index % 3], value: value,
                        headers: headers))
            }
            try await produce(messages)
            let output = try pipeline.processAll(batchSize: 2000)
            #expect(!output.contains("no retry mends"))

            #expect(try await pipeline.query("SELECT count(*)::bigint FROM rejections", as: Int64.self) == [10_000])
            let committed = try await pipeline.query(
                "SELECT coalesce(sum(next_offset), 0)::bigint FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2",
                [pipeline.group, WireTopics.personStatus], as: Int64.self)
            #expect(
                committed == [starts.values.reduce(0, +) + Int64(messages.count)], "every message's offset is committed"
            )
            let indicators = try pipeline.run([
                "indicators", "--unit", "140403001001", "--period", "2024-10", "--format", "json",
            ])
            #expect(indicators.output.contains("\"employed\" : \(good.count)"), "\(indicators.output)")
            #expect(try pipeline.run(["verify"]).status == 0)

            // The dead-letter topic holds one letter for each, by the offset the message had.
            func position(_ letter: Wire.DeadLetter) -> String { "\(letter.partition)/\(letter.offset)" }
            let letters = Set(
                try await deadLetters(
                    where: { $0.topic == WireTopics.personStatus && $0.offset >= starts[$0.partition] ?? .max },
                    until: { Set($0.map(position)).count >= 10_000 }
                ).map(position))
            #expect(letters.count == 10_000)
        }
    }
}

extension SharedStackTests {
    @Test(
        "Records the broker deletes while they wait to be read stop the running processor before its offsets move past them; a restart refuses until told"
    )
    func agedOutWhileRunning() async throws {
        try await Pipeline.with { pipeline in
            let offsetsBefore = try await pipeline.committedOffsets()
            let (pid, log) = try pipeline.startProcessor(["--batch-size", "100"], log: "aged.log")
            defer {
                kill(pid, SIGKILL)
                _ = ChildProcess.wait(pid)
            }
            let assigned = try await waitUntil(30) {
                ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("partitions assigned")
            }
            try #require(assigned, "the processor joined its group")
            // Frozen, the processor cannot read while the broker's retention (~5 MiB a partition in the mock
            // cluster) deletes the oldest records of 潞州区's partition.
            kill(pid, SIGSTOP)
            let startsBefore = try await partitionStarts(WireTopics.personStatus)
            let filler = [UInt8](repeating: 0x41, count: 100_000)
            try await produce(
                (0..<90).map { _ in
                    KafkaProducerMessage(
                        topic: WireTopics.personStatus, key: "140403", value: filler,
                        headers: [KafkaHeader(key: "empmon.kind", string: "person")])
                })
            let startsAfter = try await partitionStarts(WireTopics.personStatus)
            let moved = startsAfter.filter { $0.value > startsBefore[$0.key] ?? 0 }
            try #require(
                moved.count == 1, "the broker deleted records of one partition: \(startsBefore) → \(startsAfter)")
            kill(pid, SIGCONT)

            var status: Int32 = 0
            let exited = try await waitUntil(60) { waitpid(pid, &status, WNOHANG) == pid }
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(exited, "the processor stopped: \(output.suffix(1500))")
            #expect(exited && status != 0, "with a failure status")
            #expect(
                output.contains("the broker no longer holds") && output.contains(WireTopics.personStatus),
                "the log names the partition: \(output.suffix(1500))")
            #expect(try await pipeline.committedOffsets() == offsetsBefore, "no offset moved past the deleted records")

            let refused = try pipeline.run(
                pipeline.processorArguments.filter { $0 != "--accept-aged-out-records" } + ["--stop-when-caught-up"])
            #expect(
                refused.status != 0 && refused.output.contains("--accept-aged-out-records"),
                "\(refused.output.suffix(1500))")
            #expect(try await pipeline.committedOffsets() == offsetsBefore)
            _ = try pipeline.processAll()
            #expect(
                try await pipeline.committedOffsets() > offsetsBefore, "told, it goes on from the oldest kept record")
        }
    }
}
