import Domain
import TestSupport
import Testing

/// The processor's faster paths must answer as the plain definitions do.
@Suite("A batch's newest records, record ids and seals: fast paths equal to their definitions")
struct BatchOrderTests {
    @Test("The newest version of each person-month comes out once, in key order, whatever the keys' prefixes")
    func newestPerKeyIsSortedAndNewest() {
        var generator = SeededGenerator(seed: 29)
        // Keys that agree on their first 8, 16 or 24 characters or on all but the last, short keys and a
        // prefix of another: the comparison must fall back to the whole key exactly where the prefix ties.
        let shared = String(repeating: "a", count: 40)
        let keys =
            (0..<40).map { index in shared + String(repeating: String(index % 16, radix: 16), count: 24) }
            + (0..<40).map { _ in
                String((0..<64).map { _ in Array("0123456789abcdef")[Int.random(in: 0..<16, using: &generator)] })
            }
            + [
                "a", "aa", "aaaaaaaa", "aaaaaaaab", String(repeating: "f", count: 64),
                String(repeating: "a", count: 63) + "0",
            ]
        var records: [PersonStatusRecord] = []
        for index in 0..<600 {
            var record = Fixtures.person(period: Period(year: 2024, month: 1 + index % 3) ?? .earliest)
            record.personKey = keys[Int.random(in: 0..<keys.count, using: &generator)]
            record.reportedAtMilliseconds = Int64.random(in: 0..<50, using: &generator)
            record.recordID = RecordID.random(using: &generator)
            records.append(record)
        }

        let (newest, dropped) = IndicatorDelta.newestPerKey(records)

        // The definition: per key, the record no other record of that key is newer than; sorted by the key.
        var expected: [PersonMonthKey: PersonStatusRecord] = [:]
        for record in records {
            let key = PersonMonthKey(personKey: record.personKey, period: record.period)
            if let held = expected[key], !RecordVersion.isNewer(record, than: held) { continue }
            expected[key] = record
        }
        let expectedOrder = expected.keys.sorted()
        #expect(newest.map { PersonMonthKey(personKey: $0.personKey, period: $0.period) } == expectedOrder)
        #expect(newest == expectedOrder.compactMap { expected[$0] })
        #expect(dropped == records.count - expected.count)
    }

    @Test("Record ids: either case accepted and kept lower-case; a wrong length, dash or character refused")
    func recordIDs() {
        #expect(RecordID("3F2504E0-4F89-41D3-9A0C-0305E82C3301")?.text == "3f2504e0-4f89-41d3-9a0c-0305e82c3301")
        #expect(RecordID("3f2504e0-4f89-41d3-9a0c-0305e82c3301")?.text == "3f2504e0-4f89-41d3-9a0c-0305e82c3301")
        for bad in [
            "", "3f2504e0-4f89-41d3-9a0c-0305e82c330", "3f2504e0-4f89-41d3-9a0c-0305e82c33011",
            "3f2504e0x4f89-41d3-9a0c-0305e82c3301", "3f2504e0-4f89-41d3-9a0c-0305e82c330g",
            "3f2504e0-4f89-41d3-9a0c0-305e82c3301", "3f2504e0-4f89-41d3-9a0c-0305e82c33é",
            "3f2504e0-4f89-41d3-9a0c-0305e82c330\u{0}", "3F2504E0-4F89-41D3-9A0C-0305E82C330G",
        ] {
            #expect(RecordID(bad) == nil, "\(bad.debugDescription) was accepted")
        }
    }

    @Test("Seals with the same parts are equal and hash alike; any part differing makes them differ")
    func sealEquality() {
        let key = AgentSigningKey()
        let leaves: [[UInt8]] = [[1], [2], [3]]
        let seals = RecordSeal.seals(for: leaves, agentID: "agent", key: key)
        let copy = RecordSeal(
            keyID: seals[1].keyID, root: seals[1].root, rootSignature: seals[1].rootSignature,
            leafCount: seals[1].leafCount, leafIndex: seals[1].leafIndex, path: seals[1].path)
        #expect(copy == seals[1])
        #expect(Set([copy, seals[1]]).count == 1)
        #expect(seals[0] != seals[1])
        #expect(seals.indices.allSatisfy { seals[$0].leadsToRoot(leaves[$0]) })
        #expect(!seals[0].leadsToRoot(leaves[1]))
    }
}
