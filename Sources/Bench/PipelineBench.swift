import ArgumentParser
import CommandEdge
import DevStack
import Domain
import Foundation
import Harness
import Kafka
import Logging
import Postgres
import Processor
import Storage
import Synchronization
import TopologyFiles
import Wire

extension BenchCommand {
    struct Pipeline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The processor end to end beside librdkafka's bare consumer and the naive one-upsert-per-record way.",
            discussion: """
                Runs on the dev stack, in a database of its own (empmon_bench, dropped and created anew). Produces \
                --records signed person records (persons × months over every village), then measures (a) librdkafka's \
                bare loop reading them, (b) the processor from the topic into committed indicators, (c) one \
                autocommitted upsert per record on a sample; then a steady stream for freshness.
                """)

        @OptionGroup var connection: ConnectionOptions
        @Option(
            help:
                "Records to produce for the throughput runs (keep to ~60,000: the mock keeps ~5 MiB per partition, and the records and their manifests must fit)."
        )
        var records = 60_000
        @Option(help: "The processor's largest batch (its --batch-size), for the throughput and freshness runs.")
        var batchSize = ProcessorConfiguration.defaultBatchSize
        @Option(help: "The processor's --recent-persons (0: every batch reads all its persons from PostgreSQL).")
        var recentPersons = ProcessorConfiguration.defaultRecentPersons
        @Option(help: "Records for the naive run.") var naiveRecords = 2_000
        @Option(help: "Records per second in the steady stream.") var streamRate = 2_000
        @Option(help: "Seconds of steady stream.") var streamSeconds = 20
        @Option(
            help:
                "Ledger rows written first, in months of 1.7 million persons from 2021-01 (history the runs must not pay for)."
        )
        var prefilledRows = 0
        @Option(help: "Write the figures as JSON to this file.") var json: String?
        @Option(
            help:
                "How the bench's agent signs: ed25519-merkle (every agent enrolled now) or hmac-sha256 (one enrolled before key pairs)."
        )
        var signature = SignatureScheme.ed25519Merkle
        @Flag(
            inversion: .prefixedNo,
            help:
                "The processor writes and publishes receipts to agents (run both ways, alternately, to see their cost)."
        )
        var receipts = true
        @Option(
            help: ArgumentHelp(
                "Instead of (b) to (d): run (b) this many times with receipts and as many without, alternately, each on a copy of the same database, and report receipts' cost.",
                valueName: "pairs"))
        var compareReceipts = 0

        func run() async throws {
            var quiet = Logger(label: "empmon.bench")
            quiet.logLevel = .critical
            try validateBatchSize(batchSize)
            let stack = try BenchStack(home: connection.home)
            let (dev, topology) = (stack.dev, stack.topology)
            let clock = ContinuousClock()
            var results: [String: Double] = [
                "records": Double(records), "batch_size": Double(batchSize), "recent_persons": Double(recentPersons),
            ]

            // A database of the bench's own on the dev server, with one city agent to sign with.
            let url = try await FreshDatabase.create("empmon_bench", on: dev.postgresURL)
            let database = try PostgresClient(url: url, maxConnections: 2)
            _ = try await database.withConnection { try await Schema.migrator().migrate($0) }
            let agent = try await BenchAgent.enroll(
                signature, unit: topology.city, kafkaBootstrap: dev.kafkaBootstrap, database: database)
            results["ed25519"] = signature == .ed25519Merkle ? 1 : 0
            if prefilledRows > 0 {
                // Earlier months of a city-sized ledger, written by PostgreSQL itself. They are not monitored
                // periods, so verify leaves them alone; they are there for the indexes and partitions to carry.
                print("writing \(prefilledRows) ledger rows of earlier months …")
                let filler = try await PostgresConnection.connect(url: url)
                let villages = PostgresArray(
                    topology.allDivisions.filter { $0.tier == .village }.map(\.code.description))
                let started = clock.now
                var written = 0
                var month = Period(year: 2021, month: 1) ?? .earliest
                while written < prefilledRows {
                    let persons = min(1_700_000, prefilledRows - written)
                    try await fillLedgerMonth(
                        "\(month)-01", persons: persons, variant: written / 1_700_000, villages: villages, on: filler)
                    written += persons
                    month = month.next
                }
                try await filler.query("ANALYZE person_ledger")
                // The prefill leaves gigabytes of dirty pages; flushed during the runs, they slowed (d)'s COPY by
                // 40% along with (b). A checkpoint now writes them before anything is measured. (It needs a
                // superuser or pg_checkpoint, as on the dev stack; elsewhere the runs go on without it.)
                do { try await filler.query("CHECKPOINT") } catch {
                    print("no checkpoint after the prefill (\(error)); the runs may pay for flushing it")
                }
                results["prefilled_rows"] = Double(written)
                results["prefill_s"] = (clock.now - started).seconds
            }
            let group = "empmon-bench"
            let starts = try await RecordTopics(
                bootstrap: dev.kafkaBootstrap, topics: try Edge.topologyFiles().loadTopics()
            ).ends(logger: quiet)
            try await presetGroupOffsets(starts, group: group, database: database)

            // The records: persons × months, every village, signed as an agent signs.
            var generator = BenchRecords(topology: topology, agentID: agent.agentID, signer: agent.signer)
            let months = 3
            print("producing \(records) signed person records …")
            // Compressed, as agents send on weak links: the mock keeps ~5 MiB of message sets per partition, and
            // compressed sets hold a 200,000-record backlog where plain ones held ~60,000.
            var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: dev.kafkaBootstrap)
            producerConfiguration.compressed = true
            producerConfiguration.linger = .milliseconds(50)
            let producer = try KafkaProducer(configuration: producerConfiguration, logger: quiet)
            for start in stride(from: 0, to: records, by: BenchRecords.submission) {
                let count = min(BenchRecords.submission, records - start)
                for message in try generator.messages(from: start, count: count, persons: records / months) {
                    _ = try await producer.send(message)
                }
            }
            // Each village's month then ends with its manifest, as an agent's submission does: what receipts answer.
            let manifests = try generator.manifests()
            for manifest in manifests { _ = try await producer.send(manifest) }
            try await producer.flush(timeout: .seconds(300))
            results["manifests"] = Double(manifests.count)
            results["receipts"] = receipts ? 1 : 0
            let lows = try await startOffsets(bootstrap: dev.kafkaBootstrap, logger: quiet)
            if let aged = starts.first(where: { (lows[$0.key] ?? 0) > $0.value }) {
                throw ValidationError(
                    "the mock cluster aged out messages of \(aged.key) (it keeps ~5 MiB per partition): use fewer --records"
                )
            }

            // (a) librdkafka's bare loop over the same messages.
            print("(a) librdkafka bare loop …")
            var rawCount = 0
            let rawTime = try clock.measure {
                rawCount = try KafkaBaseline.countMessages(
                    bootstrapServers: dev.kafkaBootstrap,
                    starts: starts.filter { $0.key.topic == WireTopics.personStatus },
                    expected: records, timeout: .seconds(300))
            }
            results["a_raw_consume_per_s"] = Double(rawCount) / rawTime.seconds

            var configuration = ProcessorConfiguration(
                kafka: try Edge.kafka(dev.kafkaBootstrap), databaseURL: url, topology: topology)
            configuration.group = group
            configuration.batchSize = batchSize
            configuration.recentPersons = max(0, recentPersons)
            configuration.stopWhenCaughtUp = true
            // A new group on the dev stack's shared broker: records older runs left and the broker aged out are not this
            // run's, so starting from the oldest kept is intended.
            configuration.acceptAgedOutRecords = true
            configuration.receipts = receipts
            var processorLogger = Logger(label: "empmon.process")
            if ProcessInfo.processInfo.environment["EMPMON_LOG_LEVEL"] == nil { processorLogger.logLevel = .warning }

            if compareReceipts > 0 {
                try await compareReceiptsCost(
                    configuration: configuration, logger: processorLogger, devURL: dev.postgresURL,
                    rawRate: results["a_raw_consume_per_s"] ?? 0, results: results)
                return
            }

            // (b) The processor, from the topic into committed indicators.
            print("(b) processor end to end …")
            ProcessMemory.resetPeak()
            results["memory_before_processor_mib"] = ProcessMemory.currentMiB()
            let run = try await processorRun(configuration: configuration, logger: processorLogger)
            results["b_processor_per_s"] = run.perSecond
            results["b_batches"] = Double(run.batches)
            results["b_batch_p50_ms"] = run.batchP50Milliseconds
            results["processor_peak_memory_mib"] = ProcessMemory.peakMiB()

            // (d) The storage limit: COPY of the processor's own ledger rows (the same persons, and the household rows it
            // wrote) into tables of the same shape and indexes, from records in memory, encoded inside the clock as
            // the processor encodes them. Binary COPY, the processor's own form, and for comparison the text format
            // both into fresh tables (text first: neither gains from the other's cache, both read the same pages).
            print("(d) COPY of the same ledger rows into tables of the same shape …")
            let scratch = try await PostgresConnection.connect(url: url)
            // The bench's own months only: prefilled history is not part of the batch.
            let personRecords = try await scratch.query(
                "SELECT \(LedgerColumns.person) FROM person_ledger WHERE period >= '2024-01-01'"
            ).map { try LedgerColumns.personRecord($0) }
            let households = try await scratch.query(
                "SELECT period::text, unit_code, household_key, in_labour_force, employed FROM household_members"
            ).map { row in
                let (period, unit, key, inLabourForce, employed) = try row.decode(
                    (String, String, String, Int, Int).self)
                guard let period = LedgerColumns.period(fromDate: period), let key = LedgerColumns.hex(fromBytea: key)
                else { throw ValidationError("a household_members row of the bench is malformed") }
                return BenchHousehold(
                    period: period, unit: unit, key: key, inLabourForce: inLabourForce, employed: employed)
            }
            var copySeconds: [String: Double] = [:]
            for format in ["text", "binary"] {
                try await scratch.execute(
                    script: """
                        CREATE TABLE scratch_person_ledger (LIKE person_ledger INCLUDING ALL);
                        CREATE TABLE scratch_household_members (LIKE household_members INCLUDING ALL);
                        """)
                let ledgerCopy = "COPY scratch_person_ledger (\(LedgerColumns.person)) FROM STDIN"
                let householdCopy =
                    "COPY scratch_household_members (period, unit_code, household_key, in_labour_force, employed) FROM STDIN"
                copySeconds[format] = try await clock.measure {
                    if format == "binary" {
                        _ = try await scratch.copyInBinary(ledgerCopy + " (FORMAT binary)") { writer in
                            for record in personRecords { try LedgerColumns.appendRow(record, to: &writer) }
                        }
                        _ = try await scratch.copyInBinary(householdCopy + " (FORMAT binary)") { writer in
                            for household in households { try household.append(to: &writer) }
                        }
                    } else {
                        _ = try await scratch.copyIn(ledgerCopy) { writer in
                            for record in personRecords { try writer.append(LedgerColumns.row(record)) }
                        }
                        _ = try await scratch.copyIn(householdCopy) { writer in
                            for household in households { try writer.append(household.textRow) }
                        }
                    }
                }.seconds
                try await scratch.execute(script: "DROP TABLE scratch_person_ledger, scratch_household_members")
            }
            results["d_ledger_rows"] = Double(personRecords.count)
            results["d_household_rows"] = Double(households.count)
            results["d_ledger_copy_per_s"] = Double(personRecords.count) / (copySeconds["binary"] ?? .infinity)
            results["d_text_ledger_copy_per_s"] = Double(personRecords.count) / (copySeconds["text"] ?? .infinity)

            // (c) The naive way: one autocommitted upsert per record, on a sample.
            print("(c) one upsert per record, \(naiveRecords) records …")
            let naive = try await PostgresConnection.connect(url: url)
            try await naive.execute(
                script:
                    "CREATE TABLE naive_ledger (LIKE person_ledger INCLUDING DEFAULTS, PRIMARY KEY (person_key, period))"
            )
            var sample = BenchRecords(topology: topology, agentID: agent.agentID, signer: agent.signer, seed: 99)
            let naiveRecords = self.naiveRecords
            let naiveTime = try await clock.measure {
                for index in 0..<naiveRecords {
                    let record = sample.record(index: index, persons: naiveRecords)
                    try await naive.query(
                        """
                        INSERT INTO naive_ledger (period, person_key, record_id, unit_code, household_key, birth_year, sex, status,
                            registered_unemployed, groups, seeking_work, assisted, trained, reported_at_ms, agent_id, signature)
                        VALUES ($1::date, decode($2, 'hex'), $3::uuid, $4, decode($5, 'hex'), $6, $7, $8, $9, '{}', false, $10, $11, $12, $13, '\\\\x00')
                        ON CONFLICT (person_key, period) DO UPDATE SET status = excluded.status, record_id = excluded.record_id,
                            reported_at_ms = excluded.reported_at_ms
                        """,
                        [
                            "\(record.period)-01", record.personKey, record.recordID.text, record.unit.description,
                            record.householdKey,
                            record.birthYear, record.sex.rawValue, record.status.rawValue, record.registeredUnemployed,
                            record.assisted,
                            record.trained, record.reportedAtMilliseconds, record.agentID,
                        ])
                }
            }
            results["c_naive_per_s"] = Double(naiveRecords) / naiveTime.seconds

            // Freshness under a steady stream: produce timestamp to the commit that shows the record.
            print("freshness: \(streamRate) records/s for \(streamSeconds) s …")
            let streamCollector = BatchCollector()
            configuration.stopWhenCaughtUp = false
            configuration.onCommit = { streamCollector.add($0) }
            let streamed = streamRate * streamSeconds
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [configuration, processorLogger] in
                    try await StreamProcessor(configuration: configuration, logger: processorLogger).run()
                }
                // Once the processor has joined and committed a first record, the clock starts.
                for message in try generator.messages(from: records, count: 1, persons: records / months) {
                    _ = try await producer.send(message)
                }
                let joined = clock.now.advanced(by: .seconds(60))
                while streamCollector.count < 1, clock.now < joined { try await Task.sleep(for: .milliseconds(50)) }
                _ = streamCollector.take(clearing: true)
                let started = clock.now
                // Signed a submission at a time, as agents sign, and sent one by one at the stream's rate.
                var signed: [KafkaProducerMessage] = []
                for index in 0..<streamed {
                    if index % BenchRecords.submission == 0 {
                        signed = try generator.messages(
                            from: records + 1 + index, count: min(BenchRecords.submission, streamed - index),
                            persons: records / months)
                    }
                    let due = started.advanced(by: .seconds(Double(index) / Double(streamRate)))
                    if clock.now < due { try await Task.sleep(until: due) }
                    _ = try await producer.send(signed[index % BenchRecords.submission])
                }
                try await producer.flush(timeout: .seconds(60))
                let deadline = clock.now.advanced(by: .seconds(60))
                while streamCollector.count < streamed, clock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                group.cancelAll()
                try await group.waitForAll()
            }
            var freshness: [Double] = []
            for batch in streamCollector.take() {
                let committed = batch.committedAt.timeIntervalSince1970 * 1000
                freshness += batch.producedAtMilliseconds.map { (committed - Double($0)) / 1000 }
            }
            results["freshness_records"] = Double(freshness.count)
            results["freshness_p50_s"] = percentile(freshness, 0.5)
            results["freshness_p99_s"] = percentile(freshness, 0.99)
            results["b_over_a"] = (results["b_processor_per_s"] ?? 0) / max(1, results["a_raw_consume_per_s"] ?? 1)
            results["b_over_c"] = (results["b_processor_per_s"] ?? 0) / max(1, results["c_naive_per_s"] ?? 1)
            results["b_over_d"] = (results["b_processor_per_s"] ?? 0) / max(1, results["d_ledger_copy_per_s"] ?? 1)

            print("verifying the bench database from scratch …")
            let outcome = try await IndicatorVerifier(topology: topology, databaseURL: url).verify()
            results["verify_differences"] = Double(outcome.differences.count)

            let rate = { (key: String) in String(format: "%10.0f /s", results[key] ?? 0) }
            print("")
            print(
                "Pipeline (dev stack: mock Kafka 3 brokers × 12 partitions, PostgreSQL \(url.contains("127.0.0.1") ? "on loopback" : ""))"
            )
            if let rows = results["prefilled_rows"] {
                print(String(format: "  (the ledger held %.0f rows of earlier months before the runs)", rows))
            }
            print("  (a) librdkafka bare consume       \(rate("a_raw_consume_per_s"))   (raw limit)")
            print(
                "  (b) processor, topic → indicators \(rate("b_processor_per_s"))   \(Int(results["b_batches"] ?? 0)) batches, p50 \(Int(results["b_batch_p50_ms"] ?? 0)) ms, receipts \(receipts ? "on" : "off") (\(Int(results["manifests"] ?? 0)) manifests)"
            )
            print("  (c) one upsert per record (naive) \(rate("c_naive_per_s"))")
            print(
                "  (d) COPY of its own ledger rows   \(rate("d_ledger_copy_per_s"))   (storage limit, binary COPY; \(Int(results["d_ledger_rows"] ?? 0)) ledger + \(Int(results["d_household_rows"] ?? 0)) household rows; text COPY \(Int(results["d_text_ledger_copy_per_s"] ?? 0)) /s)"
            )
            print(
                String(
                    format: "  b/a %.2f   b/c %.0f   b/d %.2f (target ≥ 0.5)", results["b_over_a"] ?? 0,
                    results["b_over_c"] ?? 0, results["b_over_d"] ?? 0))
            print(
                String(
                    format: "  processor peak memory %.0f MiB (%.0f MiB before it started)",
                    results["processor_peak_memory_mib"] ?? 0, results["memory_before_processor_mib"] ?? 0))
            print(
                String(
                    format: "  freshness at %d records/s: p50 %.2f s, p99 %.2f s (target p99 ≤ 5 s) over %.0f records",
                    streamRate, results["freshness_p50_s"] ?? 0, results["freshness_p99_s"] ?? 0,
                    results["freshness_records"] ?? 0))
            print(
                "  verify: \(outcome.differences.isEmpty ? "stored indicators equal the recomputation" : "\(outcome.differences.count) DIFFERENCES")"
            )
            if let json {
                let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
                try data.write(to: URL(fileURLWithPath: json))
            }
            if !outcome.differences.isEmpty { throw ExitCode(1) }
        }

        /// One run of the processor from the group's stored offsets until caught up, timed by its batches' commits.
        private func processorRun(configuration: ProcessorConfiguration, logger: Logger) async throws -> (
            perSecond: Double, batches: Int, batchP50Milliseconds: Double, receiptShare: Double
        ) {
            let collector = BatchCollector()
            var configuration = configuration
            configuration.onCommit = { collector.add($0) }
            try await StreamProcessor(configuration: configuration, logger: logger).run()
            let batches = collector.take()
            let committed = batches.reduce(0) { $0 + $1.messages }
            guard let first = batches.first, let last = batches.last, committed >= records else {
                throw ValidationError("the processor committed \(committed) of \(records) records")
            }
            let span = last.committedAt.timeIntervalSince(first.committedAt) + first.duration.seconds
            let receiptWork = batches.reduce(0) { $0 + $1.receiptWork.seconds }
            let batchTime = batches.reduce(0) { $0 + $1.duration.seconds }
            return (
                Double(committed) / span, batches.count, percentile(batches.map { $0.duration.seconds * 1000 }, 0.5),
                receiptWork / max(batchTime, 1e-9)
            )
        }

        /// (b) with receipts and without, alternately (on, off, off, on, …: neither side always runs warmer), each run
        /// on a fresh copy of the database as it stood before any processing, over the same records.
        private func compareReceiptsCost(
            configuration: ProcessorConfiguration, logger: Logger, devURL: String, rawRate: Double,
            results: [String: Double]
        ) async throws {
            guard let runURL = PostgresURL.replacingDatabase(of: devURL, with: "empmon_bench_run") else {
                throw ValidationError("the dev URL \(devURL) names no database")
            }
            let admin = try await PostgresConnection.connect(url: devURL)
            // A template must have no other sessions: the bench's own pool is done with it.
            try await admin.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'empmon_bench' AND pid <> pg_backend_pid()"
            )
            try await admin.query("DROP DATABASE IF EXISTS empmon_bench_pristine WITH (FORCE)")
            try await admin.query("CREATE DATABASE empmon_bench_pristine TEMPLATE empmon_bench")
            var rates: [Bool: [Double]] = [true: [], false: []]
            // Of the runs with receipts: the share of their batches' time spent building and writing receipts.
            var shares: [Double] = []
            var results = results
            // Run 0 warms PostgreSQL's and the kernel's caches (the first run was 30–40% slower than all others) and
            // is not counted.
            for index in 0...(2 * compareReceipts) {
                let receipts = index == 0 || (index - 1) % 4 == 0 || (index - 1) % 4 == 3
                try await admin.query("DROP DATABASE IF EXISTS empmon_bench_run WITH (FORCE)")
                try await admin.query("CREATE DATABASE empmon_bench_run TEMPLATE empmon_bench_pristine")
                var run = configuration
                run.databaseURL = runURL
                run.receipts = receipts
                let measured = try await processorRun(configuration: run, logger: logger)
                let rate = measured.perSecond
                if receipts, index > 0 { shares.append(measured.receiptShare) }
                if receipts {
                    // Runs that wrote receipts must also have published all of them before stopping.
                    let waiting =
                        try await PostgresConnection.connect(url: runURL)
                        .query("SELECT count(*) FROM receipt_outbox WHERE published_at IS NULL")
                        .first?.decode(Int.self) ?? -1
                    guard waiting == 0 else {
                        throw ValidationError("a run with receipts stopped with \(waiting) receipts unpublished")
                    }
                }
                if index == 0 {
                    print(String(format: "  warm-up run, not counted: %.0f records/s", rate))
                    continue
                }
                rates[receipts, default: []].append(rate)
                print(String(format: "  run %d, receipts %@: %.0f records/s", index, receipts ? "on" : "off", rate))
            }
            let on = rates[true] ?? []
            let off = rates[false] ?? []
            let mean = { (values: [Double]) in values.reduce(0, +) / Double(max(1, values.count)) }
            let cost = 1 - mean(on) / max(1, mean(off))
            let medianCost = 1 - percentile(on, 0.5) / max(1, percentile(off, 0.5))
            results["receipts_on_per_s_mean"] = mean(on)
            results["receipts_off_per_s_mean"] = mean(off)
            results["receipts_cost"] = cost
            results["receipts_cost_median"] = medianCost
            results["receipts_share_of_batch_time"] = mean(shares)
            print("")
            print("Receipts' cost, (b) over the same \(records) records, \(compareReceipts) runs each way")
            print(String(format: "  (a) librdkafka bare consume  %10.0f /s   (raw limit)", rawRate))
            print(
                "  (b) receipts on               "
                    + on.map { String(format: "%.0f", $0) }.joined(separator: " · ")
                    + String(format: "   mean %.0f, median %.0f", mean(on), percentile(on, 0.5)))
            print(
                "  (b) receipts off              "
                    + off.map { String(format: "%.0f", $0) }.joined(separator: " · ")
                    + String(format: "   mean %.0f, median %.0f", mean(off), percentile(off, 0.5)))
            print(
                String(
                    format: "  receipts cost %.1f%% of (b) by the means, %.1f%% by the medians (target ≤ 5%%)",
                    cost * 100, medianCost * 100))
            print(
                String(
                    format:
                        "  receipts' own work (build, encode, insert into the outbox) took %.2f%% of the batches' time",
                    mean(shares) * 100))
            if let json {
                let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
                try data.write(to: URL(fileURLWithPath: json))
            }
            try await admin.query("DROP DATABASE IF EXISTS empmon_bench_run WITH (FORCE)")
            try await admin.query("DROP DATABASE IF EXISTS empmon_bench_pristine WITH (FORCE)")
        }

        private func startOffsets(bootstrap: String, logger: Logger) async throws -> [KafkaTopicPartition: Int64] {
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(
                    bootstrapServers: bootstrap, groupID: "empmon-bench-watermarks"), logger: logger)
            var lows: [KafkaTopicPartition: Int64] = [:]
            for partition in 0..<12 {
                let key = KafkaTopicPartition(topic: WireTopics.personStatus, partition: Int32(partition))
                lows[key] = try await consumer.watermarks(of: key).low
            }
            try await consumer.close()
            return lows
        }
    }
}

/// Signed person records for benchmarks: `persons` people spread over every village, month after month,
/// with a little churn between employment, unemployment and registration.
struct BenchRecords {
    let villages: [DivisionCode]
    let agentID: String
    let signer: AgentSigner
    var generator: SystemRandomNumberGenerator
    let seed: Int
    /// Records signed together, as a village's monthly submission is (~600 persons).
    static let submission = 600

    init(topology: Topology, agentID: String, signer: AgentSigner, seed: Int = 1) {
        villages = topology.allDivisions.filter { $0.tier == .village }.map(\.code)
        self.agentID = agentID
        self.signer = signer
        generator = SystemRandomNumberGenerator()
        self.seed = seed
    }

    /// Record `index`: person `index % persons` in month `index / persons` (from 2024-01), unsigned.
    mutating func record(index: Int, persons: Int) -> PersonStatusRecord {
        let person = index % max(1, persons)
        let month = index / max(1, persons)
        let roll = Int.random(in: 0..<100, using: &generator)
        let status: EmploymentStatus = roll < 85 ? .employed : roll < 95 ? .unemployed : .notInLabourForce
        return PersonStatusRecord(
            recordID: RecordID.random(using: &generator), unit: villages[(person * 7919) % villages.count],
            period: Period(year: 2024, month: 1)!.advanced(by: month), personKey: Self.key("p", seed, person),
            householdKey: Self.key("h", seed, person / 3), birthYear: 1960 + person % 40,
            sex: person % 2 == 0 ? .male : .female,
            status: status, employmentForm: status == .employed ? .employee : nil,
            workLocation: status == .employed ? .local : nil,
            registeredUnemployed: status == .unemployed && roll % 2 == 0, groups: person % 4 == 0 ? [.ruralLabour] : [],
            trained: roll % 10 == 0, reportedAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000),
            agentID: agentID)
    }

    /// Record ids of every village-month `message` produced, for the manifests that close them.
    var produced: [String: (unit: DivisionCode, period: Period, ids: [String])] = [:]

    /// Records `start..<start + count`, signed together by county (an agent's submission is one village's, so
    /// its records share a partition and, compressed, the parts of their seals they have in common).
    mutating func messages(from start: Int, count: Int, persons: Int) throws -> [KafkaProducerMessage] {
        var byCounty: [String: [PersonStatusRecord]] = [:]
        for index in start..<start + count {
            let record = record(index: index, persons: persons)
            byCounty[record.unit.countyKey, default: []].append(record)
        }
        var records: [PersonStatusRecord] = []
        for county in byCounty.keys.sorted() {
            var submission = byCounty[county] ?? []
            signer.sign(&submission)
            records += submission
        }
        return try records.map { record in
            produced["\(record.unit)/\(record.period)", default: (record.unit, record.period, [])].ids.append(
                record.recordID.text)
            return KafkaProducerMessage(
                topic: WireTopics.personStatus, key: record.unit.countyKey, value: try Wire.encode(record),
                headers: [
                    KafkaHeader(key: "empmon.kind", string: "person"),
                    KafkaHeader(key: "empmon.agent", string: agentID),
                    KafkaHeader(key: "empmon.record", string: record.recordID.text),
                ])
        }
    }

    /// One signed manifest per village-month produced so far, declaring its records.
    mutating func manifests() throws -> [KafkaProducerMessage] {
        try produced.values.sorted { ($0.unit, $0.period) < ($1.unit, $1.period) }.map { month in
            var manifest = SubmissionManifest(
                recordID: RecordID.random(using: &generator), unit: month.unit, period: month.period, kind: .person,
                records: month.ids.count, digest: SubmissionManifest.digest(of: month.ids),
                reportedAtMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), agentID: agentID)
            signer.sign(&manifest)
            return KafkaProducerMessage(
                topic: WireTopics.personStatus, key: month.unit.countyKey, value: try Wire.encode(manifest),
                headers: [
                    KafkaHeader(key: "empmon.kind", string: WireKinds.manifest),
                    KafkaHeader(key: "empmon.agent", string: agentID),
                    KafkaHeader(key: "empmon.record", string: manifest.recordID.text),
                ])
        }
    }

    static func key(_ kind: String, _ seed: Int, _ number: Int) -> String {
        let text = String(format: "%@%02d%016x", kind == "p" ? "a" : "b", seed % 100, number)
        return String(repeating: text, count: 4).prefix(64).lowercased()
    }
}

final class BatchCollector: Sendable {
    private let reports = Mutex<[BatchReport]>([])
    func add(_ report: BatchReport) { reports.withLock { $0.append(report) } }
    func take(clearing: Bool = false) -> [BatchReport] {
        reports.withLock { reports in
            defer { if clearing { reports = [] } }
            return reports
        }
    }
    var count: Int { reports.withLock { $0.reduce(0) { $0 + $1.messages } } }
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
}

/// A household row of the bench's database, held for (d)'s COPY.
private struct BenchHousehold: Sendable {
    let period: Period
    let unit: String
    let key: String
    let inLabourForce: Int
    let employed: Int

    func append(to writer: inout PostgresBinaryCopyWriter) throws {
        try writer.beginRow(fields: 5)
        try LedgerColumns.appendDate(period, to: &writer)
        try writer.appendText(unit)
        try writer.appendBytes(hex: key)
        try writer.appendInteger(inLabourForce)
        try writer.appendInteger(employed)
    }

    var textRow: [(any PostgresEncodable)?] {
        [LedgerColumns.date(period), unit, LedgerColumns.hexBytea(key), inLabourForce, employed]
    }
}

/// The bench's agent: one with a key pair (as every agent enrolled now), or one still on HMAC, as migration 14
/// leaves an agent enrolled before key pairs, to compare the two checks side by side.
struct BenchAgent {
    let agentID: String
    let signer: AgentSigner

    static func enroll(
        _ scheme: SignatureScheme, unit: Division, kafkaBootstrap: String, database: PostgresClient
    ) async throws -> BenchAgent {
        let registry = AgentRegistry(database: database)
        switch scheme {
        case .ed25519Merkle:
            let key = AgentSigningKey()
            let credentials = try await registry.enroll(
                unit: unit, name: "bench", kafkaBootstrap: kafkaBootstrap, publicKey: key.publicKey)
            return BenchAgent(agentID: credentials.agentID, signer: .ed25519(key, agentID: credentials.agentID))
        case .hmacSHA256:
            let credentials = try await registry.enroll(unit: unit, name: "bench", kafkaBootstrap: kafkaBootstrap)
            var generator = SystemRandomNumberGenerator()
            let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try await database.withConnection { connection in
                try await connection.query(
                    "INSERT INTO legacy_hmac_secrets (agent_id, secret) VALUES ($1, $2)",
                    [credentials.agentID, PostgresBytes(secret)])
            }
            return BenchAgent(agentID: credentials.agentID, signer: .hmac(RecordSigner(secret: secret)))
        }
    }
}

extension SignatureScheme: ExpressibleByArgument {}
