import DevStack
import Domain
import Foundation
import Kafka
import Logging
import Postgres
import TestSupport
import Testing
import Wire

/// The offsets of this agent's messages on the person topic from `start`, in order, with their kind header.
func agentMessageOffsets(partition: Int32, from start: Int64, agentID: String, expecting count: Int) async throws -> [(
    offset: Int64, kind: String
)] {
    let consumer = try checkingConsumer(group: "offsets")
    try await consumer.assign([KafkaTopicPartition(topic: WireTopics.personStatus, partition: partition): .exact(start)]
    )
    var found: [(Int64, String)] = []
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: .seconds(30))
    while found.count < count, clock.now < deadline {
        for message in try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(200)).messages
        where message.header("empmon.agent") == Array(agentID.utf8) {
            found.append((message.offset, String(decoding: message.header("empmon.kind") ?? [], as: UTF8.self)))
        }
    }
    try await consumer.close()
    return found
}

extension SharedStackTests {
    @Test(
        "Control totals: records skipped between agent and processor are named by unit-month and count; the alert fires; complete months pass"
    )
    func controlTotalsNameLostRecords() async throws {
        try await Pipeline.with { pipeline in
            let county = try await pipeline.agent(for: "140403000000")
            defer { try? FileManager.default.removeItem(at: county.directory) }
            let villageA = try county.write("a.csv", makeLedger(count: 6, seed: 31).csv)
            let villageB = try county.write("b.csv", makeLedger(count: 5, seed: 32).csv)
            for (file, unit) in [(villageA, "140403001001"), (villageB, "140403001002")] {
                let submit = try county.agent(["submit", "--period", "2024-03", file, "--unit", unit, "--offline"])
                #expect(submit.status == 0, "\(submit.output)")
            }
            let start = try await partitionEnds(WireTopics.personStatus)
            #expect(try county.agent(["flush"]).status == 0)

            // Every message of one county goes to one partition: A's six records, A's manifest, B's five, B's manifest.
            let partition = try #require(
                try await partitionEnds(WireTopics.personStatus).first { end in
                    start.first { $0.partition == end.partition }.map { $0.end < end.end } ?? false
                })
            let from = try #require(start.first { $0.partition == partition.partition }).end
            let sent = try await agentMessageOffsets(
                partition: Int32(partition.partition), from: from, agentID: county.agentID, expecting: 13)
            #expect(
                sent.map(\.kind) == Array(repeating: "person", count: 6) + ["manifest"]
                    + Array(repeating: "person", count: 5) + ["manifest"])
            // An operator's mistake: the group's stored offset moved past A's first two records.
            let connection = try await pipeline.database.connect()
            try await connection.query(
                "UPDATE consumer_offsets SET next_offset = $1 WHERE consumer_group = $2 AND topic = $3 AND partition = $4",
                [sent[2].offset, pipeline.group, WireTopics.personStatus, partition.partition])
            let processed = try pipeline.processAll()
            #expect(
                processed.contains("a unit's month lacks records its agent delivered")
                    && processed.contains("140403001001"), "\(processed.suffix(1500))")

            let verify = try pipeline.run(["verify", "--manifests"])
            #expect(verify.status == 1, "\(verify.output)")
            let findings = verify.output.split(separator: "\n").filter { $0.hasPrefix("1404") }
            #expect(
                findings == ["140403001001 2024-03 person: the ledger lacks 2 of the 6 records its agent delivered"],
                "\(verify.output)")

            let rules = try county.write(
                "rules.yaml",
                """
                rules:
                  - id: records-missing
                    description: 记录未入库
                    kind: missing_records
                    tiers: [village, county]
                    severity: critical
                """)
            let evaluation = try pipeline.run(["alerts", "eval", "--rules", rules])
            #expect(evaluation.status == 0, "\(evaluation.output)")
            let firing = try await pipeline.query(
                "SELECT unit_code || ' ' || value::int FROM alerts WHERE rule_id = 'records-missing' AND state = 'firing' ORDER BY 1",
                as: String.self)
            #expect(firing == ["140403000000 2", "140403001001 2"])

            // A later, complete submission of A heals it: verify and the alert agree again.
            let resubmit = try county.agent(["submit", "--period", "2024-03", villageA, "--unit", "140403001001"])
            #expect(resubmit.status == 0, "\(resubmit.output)")
            _ = try pipeline.processAll()
            let healed = try pipeline.run(["verify", "--manifests"])
            #expect(healed.status == 0 && healed.output.contains("holds exactly the records"), "\(healed.output)")
            #expect(try pipeline.run(["alerts", "eval", "--rules", rules]).status == 0)
            let stillFiring = try await pipeline.query(
                "SELECT count(*)::int FROM alerts WHERE rule_id = 'records-missing' AND state = 'firing'", as: Int.self)
            #expect(stillFiring == [0])
        }
    }
}
