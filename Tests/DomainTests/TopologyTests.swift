import Domain
import Foundation
import PropertyBased
import TestSupport
import Testing
import TopologyFiles

@Suite("The real Changzhi topology")
struct TopologyTests {
    @Test("Counts per tier equal the shared data's SOURCE.md: 1 city, 12 counties, 149 townships, 2,628 villages")
    func countsPerTier() {
        let topology = Fixtures.topology
        #expect(topology.count(of: .city) == 1)
        #expect(topology.count(of: .county) == 12)
        #expect(topology.count(of: .township) == 149)
        #expect(topology.count(of: .village) == 2628)
        #expect(topology.city.name == "长治市")
        #expect(topology.allDivisions.count == 2790)
    }

    @Test("Lookups by code and name, children and expected reporting units")
    func lookups() throws {
        let topology = Fixtures.topology
        let luzhou = try #require(topology.units(named: "潞州区").first)
        #expect(luzhou.code.description == "140403000000" && luzhou.tier == .county)
        #expect(topology.children(of: topology.city.code).count == 12)
        let villagesOfLuzhou = topology.expectedReportingUnits(under: luzhou.code)
        #expect(villagesOfLuzhou.allSatisfy { $0.code.isInSubtree(of: luzhou.code) && $0.tier == .village })
        let sumOverCounties = topology.children(of: topology.city.code).map {
            topology.expectedReportingUnits(under: $0.code).count
        }.reduce(0, +)
        #expect(sumOverCounties == 2628)
        #expect(topology.expectedReportingUnits(under: Fixtures.village).map(\.code) == [Fixtures.village])
        #expect(topology[Fixtures.village]?.isUrban == true)
        #expect(topology.allDivisions.filter { $0.tier == .village && !$0.isUrban }.count > 2000)
    }

    @Test("A broken division list is refused with every problem and its line")
    func brokenList() {
        let csv = """
            code,name,tier,parent_code
            140400000000,长治市,city,140000000000
            140403000000,潞州区,county,140400000000
            140403001000,东街街道,village,140403000000
            140403001001,和平社区,village,140403999000
            14040300100X,坏代码,village,140403001000
            """
        #expect {
            _ = try Topology(csv: csv)
        } throws: { error in
            let issues = (error as? TopologyLoadError)?.issues ?? []
            return issues.contains { $0.line == 4 && $0.message.contains("township code") }
                && issues.contains { $0.line == 5 && $0.message.contains("names parent") }
                && issues.contains { $0.line == 6 && $0.message.contains("not a 12-digit") }
        }
    }

    @Test("Topic definitions and the plan's targets load, and targets name catalogue indicators")
    func topicsAndTargets() throws {
        let files = TopologyFiles(directory: Fixtures.topologyDirectory)
        let topics = try files.loadTopics()
        #expect(topics.topics.contains { $0.name == "empmon.person-status.records.v1" && $0.partitions == 12 })
        #expect(topics.production.replicationFactor == 3)
        let targets = try files.loadTargets()
        #expect(targets.targets["new_urban_employment"] == 96_000)
        #expect(targets.targets["rural_labour_employed"] == 600_000)
        #expect(targets.unit == Fixtures.topology.city.code)
    }
}

@Suite("Division code and period arithmetic, by property")
struct ArithmeticPropertyTests {
    static let villages = Fixtures.topology.allDivisions.filter { $0.tier == .village }.map(\.code)

    @Test("A unit lies in the subtree of each of its ancestors, whose tiers climb one at a time to the city")
    func ancestry() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...(Self.villages.count - 1))) { index in
            let village = Self.villages[index]
            let chain = village.ancestors
            #expect(chain.map(\.tier) == [.township, .county, .city])
            #expect(chain.allSatisfy { village.isInSubtree(of: $0) })
            #expect(chain.last == Fixtures.topology.city.code)
            for (child, parent) in zip([village] + chain, chain) {
                #expect(child.parent == parent)
                #expect(Fixtures.topology[parent] != nil)
                #expect(!parent.isInSubtree(of: child))
            }
        }
    }

    @Test("Any well-formed code: parent is one tier up, contains the child, and text round-trips")
    func syntheticCodes() async {
        await propertyCheck(count: 500, input: Gen.int(in: 1...99), Gen.int(in: 0...999), Gen.int(in: 0...999)) {
            county, township, anyVillage in
            let village = township == 0 ? 0 : anyVillage
            let text = "1404" + String(county).leftPad(2) + String(township).leftPad(3) + String(village).leftPad(3)
            guard let code = DivisionCode(text) else {
                Issue.record("\(text) should parse")
                return
            }
            #expect(code.description == text)
            let parent = code.parent
            #expect(parent.map { code.isInSubtree(of: $0) } == true)
            #expect(parent.map { $0.tier.depth + 1 } == code.tier.depth)
            #expect(code.ancestor(at: .county)?.description == "1404" + String(county).leftPad(2) + "000000")
            #expect(code.countyKey == "1404" + String(county).leftPad(2))
        }
    }

    @Test("Two unrelated villages are not in each other's subtree")
    func siblings() async {
        await propertyCheck(
            count: 300, input: Gen.int(in: 0...(Self.villages.count - 1)), Gen.int(in: 0...(Self.villages.count - 1))
        ) { a, b in
            let first = Self.villages[a]
            let second = Self.villages[b]
            #expect(first.isInSubtree(of: second) == (a == b))
        }
    }

    @Test("Period arithmetic: next/previous invert, distance adds up, text round-trips, ranges count")
    func periods() async {
        await propertyCheck(count: 500, input: Gen.int(in: 2000 * 12...2100 * 12), Gen.int(in: -400...400)) {
            ordinal, months in
            guard let period = Period(ordinal: ordinal) else {
                Issue.record("ordinal \(ordinal) should make a period")
                return
            }
            #expect(period.next.previous == period)
            #expect(period.advanced(by: months).distance(to: period) == -months)
            #expect(Period(period.description) == period)
            let later = period.advanced(by: abs(months))
            #expect(period.through(later).count == abs(months) + 1)
            #expect(period.through(later).first == period && period.through(later).last == later)
            #expect((period < later) == (months != 0))
        }
    }

    @Test("Malformed codes and periods are refused")
    func malformed() {
        for text in [
            "", "14040300100", "1404030010011", "14040300100a", "140400000001", "140403000001", "000000000000",
        ] {
            #expect(DivisionCode(text) == nil, "\(text)")
        }
        for text in ["2024-13", "2024-00", "2024-1", "24-01", "2024/01", "2024-01x"] {
            #expect(Period(text) == nil, "\(text)")
        }
        #expect(Period("2024-12")?.next == Period("2025-01"))
        #expect(Period("2025-01")?.previous == Period("2024-12"))
    }
}

extension String {
    func leftPad(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
