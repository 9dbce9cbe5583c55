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
            let key = PersonMonthKey(person: record.person, period: record.period)
            if let held = expected[key], !RecordVersion.isNewer(record, than: held) { continue }
            expected[key] = record
        }
        let expectedOrder = expected.keys.sorted()
        #expect(newest.map { PersonMonthKey(person: $0.person, period: $0.period) } == expectedOrder)
        #expect(newest == expectedOrder.compactMap { expected[$0] })
        #expect(dropped == records.count - expected.count)
    }

    @Test(
        "Person keys as words: ordered and equal as their hex texts, the text given back, the lock bucket its first digits"
    )
    func personKeysAsWords() {
        var generator = SeededGenerator(seed: 41)
        let digits = Array("0123456789abcdef")
        func randomKey() -> String { String((0..<64).map { _ in digits[Int.random(in: 0..<16, using: &generator)] }) }
        // Keys differing only in one word each, so that every word's comparison decides some pair.
        let base = randomKey()
        var texts =
            (0..<200).map { _ in randomKey() } + [String(repeating: "0", count: 64), String(repeating: "f", count: 64)]
        for position in [0, 15, 16, 31, 32, 47, 48, 63] {
            for digit in digits {
                var characters = Array(base)
                characters[position] = digit
                texts.append(String(characters))
            }
        }
        let keys = texts.map(PersonKey.init)
        for (text, key) in zip(texts, keys) {
            #expect(key.text == text)
            #expect(key.lockBucket == Int(text.prefix(3), radix: 16))
        }
        for _ in 0..<2_000 {
            let (left, right) = (
                Int.random(in: 0..<texts.count, using: &generator), Int.random(in: 0..<texts.count, using: &generator)
            )
            #expect((keys[left] < keys[right]) == (texts[left] < texts[right]))
            #expect((keys[left] == keys[right]) == (texts[left] == texts[right]))
            if texts[left] == texts[right] { #expect(keys[left].hashValue == keys[right].hashValue) }
        }
        // Not 64 lowercase hex digits: too short, too long, upper case, other characters. Each stays its own key.
        let malformed = [
            "", "a", String(base.dropLast()), base + "0", base.uppercased(), "g" + base.dropFirst(), "p1", "p2",
        ]
        let malformedKeys = malformed.map(PersonKey.init)
        #expect(Set(malformedKeys).count == malformed.count)
        #expect(Set(malformedKeys).isDisjoint(with: Set(keys)))
        #expect(malformed.map(PersonKey.init) == malformedKeys)
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
