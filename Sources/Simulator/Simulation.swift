import Domain

extension SeededGenerator {
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}

package struct SimulationOptions: Sendable {
    package var months = 12
    /// 1.0 ≈ the city's ~1.7 million labour force; the default is a small town's worth.
    package var scale = 0.001
    package var seed: UInt64 = 1
    package var start = Period(year: 2024, month: 1)!
    /// Share of ledger rows written broken (bad ID check digit or unknown status), which agents refuse.
    package var malformedShare = 0.0
    /// Share of village-months submitted after the following month.
    package var lateShare = 0.0
    /// Share of village-months that get a corrected second file. Not a data-quality fault: the agent replaces a
    /// first version still waiting to be sent, so the city sees a correction only of what it had stored.
    package var correctionShare = 0.0
    /// Data-quality faults (`faults.csv` names each one injected). Share of village-months whose clerk sends the
    /// month before's ledger again unchanged: only villages whose residents are the same as in the month before,
    /// so that the copy reports nobody another village reports too.
    package var copyForwardShare = 0.0
    /// Share of village-months whose ledger also lists a resident of another village of the same township (who
    /// is in that village's ledger too): the ledger keeps the record of the village that reported later.
    package var doubleReportShare = 0.0
    /// The day of the month after the last on which the run ends, or nil when every report has arrived. Reports are
    /// due by the 10th and trickle in until then (`ReportingSchedule`); villages whose day for the last month is
    /// later have not reported, so the last month is preliminary: its reported figures fall short, and the
    /// situation table shows an estimate for the villages still missing.
    package var endsOnDay: Int?
    /// Only these counties (all when empty): a sample of the city, for tests and trials.
    package var counties: Set<DivisionCode> = []
    package init() {}

    func includes(_ unit: DivisionCode) -> Bool {
        counties.isEmpty || unit.ancestor(at: .county).map(counties.contains) == true
    }
}

/// One simulated person. The raw ID number exists only here and in the ledger files, as on a clerk's computer.
struct SimPerson {
    let index: Int
    let idNumber: String
    var household: String
    var village: Int
    let birthYear: Int
    var groups: Set<PersonGroup>
    var status: EmploymentStatus
    var form: EmploymentForm?
    var location: WorkLocation?
    var sector: Sector?
    var registered: Bool
    var assisted = false
    var trained = false
    var income: IncomeBand?
    /// False once the person has left the city's working-age ledger (aged out, or a migrant who settled away).
    var present = true
}

/// A synthetic labour force on the real Changzhi topology, evolving month by month with the seasons:
/// the Spring Festival return and departure of migrant workers, July graduates, the winter construction lull.
package struct Simulation: Sendable {
    package let topology: Topology
    package let options: SimulationOptions
    let villages: [Division]
    var persons: [SimPerson] = []
    /// Every ID number issued, so that no two residents share one.
    var cityIDs: Set<String> = []
    /// Each village's county pace (`countyPace`), by village index.
    var paces: [Double] = []
    var generator: SeededGenerator
    package private(set) var period: Period
    /// Each village's ledger of the month before as sent (its final version, before any double report), with its
    /// residents and accepted records: what a copied-forward month sends again.
    var lastLedgers: [Int: SentLedger] = [:]

    package init(topology: Topology, options: SimulationOptions) {
        self.topology = topology
        self.options = options
        self.villages = topology.allDivisions.filter { $0.tier == .village && options.includes($0.code) }
        self.generator = SeededGenerator(seed: options.seed)
        self.period = options.start
        self.paces = villages.map(countyPace)
        populate()
    }

    package var personCount: Int { persons.count { $0.present } }

    /// The village's own generator: a village's residents depend on the seed and the village alone, so that a
    /// county simulated with `--counties` is the same county, of the same size, as in the whole city.
    private static func villageGenerator(seed: UInt64, village: DivisionCode) -> SeededGenerator {
        SeededGenerator(seed: seed &* 0xD6E8_FEB8_6659_FD93 ^ village.value)
    }

    /// A village's share of the city's residents: urban communities are about ten times a village's size, so that
    /// ~45% of the labour force lives in them (Changzhi's urbanisation is ~56%; the ledger's rural side is larger).
    private static func villageWeight(_ village: Division, generator: inout SeededGenerator) -> Double {
        (village.isUrban ? Rates.urbanWeight : 1.0) * Double.random(in: 0.5...1.5, using: &generator)
    }

    private mutating func populate() {
        // Working-age residents: ~2.0 million at scale 1, of whom ~85% are in the labour force. Weights are drawn
        // for every village of the city, included or not, so that a county's share does not depend on the others.
        let weightSum = topology.allDivisions.filter { $0.tier == .village }.reduce(0.0) { sum, village in
            var generator = Self.villageGenerator(seed: options.seed, village: village.code)
            return sum + Self.villageWeight(village, generator: &generator)
        }
        for (villageIndex, village) in villages.enumerated() {
            var local = Self.villageGenerator(seed: options.seed, village: village.code)
            let weight = Self.villageWeight(village, generator: &local)
            let count = max(1, Int((2_000_000 * options.scale * weight / weightSum).rounded()))
            var inHousehold = 0
            var household = ""
            var households = 0
            for _ in 0..<count {
                if inHousehold == 0 {
                    households += 1
                    household = "\(village.code.value % 1_000_000_000)-\(households)"
                    inHousehold = Int.random(in: 1...4, using: &local)
                }
                inHousehold -= 1
                let age = Int.random(in: 16...64, using: &local)
                let birthYear = options.start.year - age
                var id = ""
                repeat {
                    let month = Int.random(in: 1...12, using: &local)
                    let day = Int.random(in: 1...28, using: &local)
                    let sequence = Int.random(in: 0...999, using: &local)
                    id = Self.residentID(
                        county: village.code.countyKey, year: birthYear, month: month, day: day, sequence: sequence)
                } while !cityIDs.insert(id).inserted  // IDs carry the county: a collision is within the county
                var groups: Set<PersonGroup> = []
                if !village.isUrban, local.chance(Rates.ruralLabourShare) { groups.insert(.ruralLabour) }
                if age < 30, local.chance(0.18) {
                    groups.insert(.collegeGraduate)
                    groups.remove(.ruralLabour)
                }
                if local.chance(0.05) { groups.insert(.hardToEmploy) }
                if !village.isUrban, local.chance(0.08) { groups.insert(.povertyAlleviated) }
                if local.chance(0.02) { groups.insert(.disabled) }
                if local.chance(0.02) { groups.insert(.veteran) }
                var person = SimPerson(
                    index: persons.count, idNumber: id, household: household, village: villageIndex,
                    birthYear: birthYear,
                    groups: groups, status: .notInLabourForce, registered: false)
                if local.chance(0.85) {
                    let hard = groups.contains(.hardToEmploy)
                    if local.chance(hard ? 0.75 : (groups.contains(.collegeGraduate) ? 0.9 : 0.955)) {
                        employ(&person, month: options.start.month)
                    } else {
                        // The stock of the unemployed at the start: half the urban unemployed are registered.
                        unemploy(&person, registration: village.isUrban ? (hard ? 0.8 : 0.5) : (hard ? 0.15 : 0.04))
                    }
                }
                persons.append(person)
            }
        }
        monthlyServices()
    }

    /// Monthly transition rates, chosen so that at any scale the city's year lands near the 2024 plan
    /// (`SimulationCalibration`, `empmon simulate --calibration`). Urban figures drive new urban employment and
    /// the registered unemployment rate; registration is mostly urban, as in the bureau's statistics.
    enum Rates {
        static let urbanWeight = 10.5
        static let ruralLabourShare = 0.72
        /// Employed persons who lose or leave their job in a month; a fifth of them leave the labour force.
        static let employedExit = 0.011
        static let exitToInactive = 0.2
        /// Chance that a person who becomes unemployed registers: urban, urban hard-to-employ, rural, rural hard-to-employ.
        static let registration = (urban: 0.12, urbanHard: 0.8, rural: 0.03, ruralHard: 0.15)
        /// Monthly chance of finding work: registered unemployed (the longer spells), and the rest.
        static let registeredFind = 0.054
        static let unregisteredFind = 0.42
        static let hardToEmployFactor = 0.8
        /// Graduates look longer: about one in ten is still looking in December.
        static let graduateFactor = 0.44
        /// Urban residents outside the labour force who start work directly in a month (students, returning carers).
        static let inactiveToWork = 0.002
        static let inactiveToSearch = 0.004
        static let assisted = 0.98
        /// Entrants and leavers (`populationFlows`), monthly shares of the residents: residents who move house (four
        /// in five within their county), out-of-province migrants who settle away, graduates who register for the
        /// first time in July and migrants who come home to stay after the Spring Festival (February and March).
        static let moves = 0.002
        static let movesWithinCounty = 0.8
        static let migrantSettlesAway = 0.002
        static let julyGraduateEntrants = 0.003
        static let graduateEmployedOnEntry = 0.65
        static let returningMigrants = 0.0015
        static let returnerEmployedOnEntry = 0.5
        static let retirementAge = 65
    }

    /// A county's pace: how much quicker or slower than the city its people find work this year (0.85–1.15, by seed),
    /// so that some counties run ahead of the time-elapsed line and some behind.
    private func countyPace(_ village: Division) -> Double {
        guard let county = village.code.ancestor(at: .county) else { return 1 }
        var generator = SeededGenerator(seed: options.seed &* 0x2545_F491_4F6C_DD1D ^ county.value)
        return Double.random(in: 0.85...1.15, using: &generator)
    }

    /// Moves the city to the next month.
    package mutating func advance() {
        period = period.next
        let month = period.month
        // The season: slow in the Spring Festival months, the March rush after it (春风行动).
        let season = [1, 2].contains(month) ? 0.6 : (month == 3 ? 1.5 : 1.0)
        for index in persons.indices where persons[index].present {
            var person = persons[index]
            let urban = villages[person.village].isUrban
            let hard = person.groups.contains(.hardToEmploy)
            let pace = paces[person.village]
            switch person.status {
            case .employed:
                var leave = Rates.employedExit
                if [12, 1, 2].contains(month), person.sector == .e { leave += 0.08 }  // winter construction lull
                // Spring Festival: migrants working out of province come home in January and February.
                if [1, 2].contains(month), person.location == .outOfProvince { leave += 0.25 }
                if generator.chance(leave) {
                    if generator.chance(Rates.exitToInactive) {
                        withdraw(&person)
                    } else {
                        unemploy(&person, registration: Self.registrationChance(urban: urban, hard: hard))
                    }
                }
            case .unemployed:
                var find = (person.registered ? Rates.registeredFind : Rates.unregisteredFind) * season * pace
                if hard { find *= Rates.hardToEmployFactor }
                if person.groups.contains(.collegeGraduate) { find *= Rates.graduateFactor }
                if generator.chance(min(0.95, find)) { employ(&person, month: month) }
            case .notInLabourForce:
                let age = period.year - person.birthYear
                // July: new graduates enter the labour market looking for work.
                if month == 7, (20...24).contains(age), generator.chance(0.12) {
                    person.groups.insert(.collegeGraduate)
                    person.groups.remove(.ruralLabour)
                    unemploy(&person, registration: Self.registrationChance(urban: urban, hard: hard))
                } else if urban, generator.chance(Rates.inactiveToWork * season * pace) {
                    employ(&person, month: month)
                } else if generator.chance(Rates.inactiveToSearch) {
                    unemploy(&person, registration: Self.registrationChance(urban: urban, hard: hard))
                }
            }
            persons[index] = person
        }
        populationFlows(month: month)
        monthlyServices()
    }

    /// The ledger's population changes: residents age out in January of the year they turn 65, out-of-province
    /// migrants settle away, residents move house (to another village, sometimes another county), July's graduates
    /// register for the first time (half with a job already) and migrants come home to stay after the Spring
    /// Festival. Entrants are new to the ledger: their new employment follows the new-entrant rule
    /// (`IndicatorComputation`), and the ground truth, computed by it, follows.
    private mutating func populationFlows(month: Int) {
        let residents = persons.count { $0.present }
        // A real village is never empty, but a shrunk one may have a single resident: the last resident does not
        // move or settle away, and one who ages out is followed by a young person coming of age in the village.
        var villageResidents = [Int](repeating: 0, count: villages.count)
        for person in persons where person.present { villageResidents[person.village] += 1 }
        for index in persons.indices where persons[index].present {
            let village = persons[index].village
            let last = villageResidents[village] <= 1
            if month == 1, period.year - persons[index].birthYear >= Rates.retirementAge {
                persons[index].present = false
                villageResidents[village] -= 1
                if last {
                    addEntrant(
                        ages: 16...17, groups: [], employedOnEntry: 0, inLabourForce: false, month: month,
                        village: village)
                    villageResidents[village] += 1
                }
            } else if persons[index].location == .outOfProvince, generator.chance(Rates.migrantSettlesAway) {
                guard !last else { continue }
                persons[index].present = false
                villageResidents[village] -= 1
            } else if generator.chance(Rates.moves) {
                guard !last else { continue }
                var person = persons[index]
                move(&person)
                persons[index] = person
                villageResidents[village] -= 1
                villageResidents[person.village] += 1
            }
        }
        let graduates = month == 7 ? Int((Double(residents) * Rates.julyGraduateEntrants).rounded()) : 0
        for _ in 0..<graduates {
            addEntrant(
                ages: 21...23, groups: [.collegeGraduate], employedOnEntry: Rates.graduateEmployedOnEntry, month: month)
        }
        let returners = [2, 3].contains(month) ? Int((Double(residents) * Rates.returningMigrants).rounded()) : 0
        for _ in 0..<returners {
            addEntrant(
                ages: 25...50, groups: [.ruralLabour], employedOnEntry: Rates.returnerEmployedOnEntry, month: month)
        }
    }

    private mutating func move(_ person: inout SimPerson) {
        let county = villages[person.village].code.ancestor(at: .county)
        let candidates =
            generator.chance(Rates.movesWithinCounty)
            ? villages.indices.filter { villages[$0].code.ancestor(at: .county) == county } : Array(villages.indices)
        guard let destination = candidates.randomElement(using: &generator), destination != person.village else {
            return
        }
        person.village = destination
        person.household = "\(villages[destination].code.value % 1_000_000_000)-m\(person.index)"
        if villages[destination].isUrban { person.groups.remove(.ruralLabour) }
    }

    /// A person new to the ledger, in `village` or else in the village of a resident drawn at random (so villages
    /// gain by their size).
    private mutating func addEntrant(
        ages: ClosedRange<Int>, groups: Set<PersonGroup>, employedOnEntry: Double, inLabourForce: Bool = true,
        month: Int, village chosen: Int? = nil
    ) {
        guard let home = chosen ?? persons.randomElement(using: &generator)?.village else { return }
        let village = villages[home]
        let birthYear = period.year - Int.random(in: ages, using: &generator)
        var id = ""
        repeat {
            id = Self.residentID(
                county: village.code.countyKey, year: birthYear, month: Int.random(in: 1...12, using: &generator),
                day: Int.random(in: 1...28, using: &generator), sequence: Int.random(in: 0...999, using: &generator))
        } while !cityIDs.insert(id).inserted
        var entrantGroups = groups
        if village.isUrban { entrantGroups.remove(.ruralLabour) }
        var person = SimPerson(
            index: persons.count, idNumber: id, household: "\(village.code.value % 1_000_000_000)-e\(persons.count)",
            village: home, birthYear: birthYear, groups: entrantGroups, status: .notInLabourForce, registered: false)
        if !inLabourForce {
            // Still at school: in the ledger, not in the labour force.
        } else if generator.chance(employedOnEntry) {
            employ(&person, month: month)
        } else {
            unemploy(&person, registration: Self.registrationChance(urban: village.isUrban, hard: false))
        }
        persons.append(person)
    }

    static func registrationChance(urban: Bool, hard: Bool) -> Double {
        urban
            ? (hard ? Rates.registration.urbanHard : Rates.registration.urban)
            : (hard ? Rates.registration.ruralHard : Rates.registration.rural)
    }

    private mutating func monthlyServices() {
        for index in persons.indices where persons[index].present {
            let person = persons[index]
            let target = person.registered || (person.groups.contains(.hardToEmploy) && person.status != .employed)
            persons[index].assisted = target && generator.chance(Rates.assisted)
            persons[index].trained = person.status != .notInLabourForce && generator.chance(0.02)
        }
    }

    private mutating func employ(_ person: inout SimPerson, month: Int) {
        person.status = .employed
        person.registered = false
        let rural = person.groups.contains(.ruralLabour)
        let forms: [(EmploymentForm, Double)] =
            rural
            ? [(.employee, 0.45), (.flexible, 0.40), (.selfEmployed, 0.12), (.publicWelfarePost, 0.03)]
            : [(.employee, 0.70), (.flexible, 0.18), (.selfEmployed, 0.09), (.publicWelfarePost, 0.03)]
        person.form = pick(forms)
        if person.groups.contains(.hardToEmploy), generator.chance(0.3) { person.form = .publicWelfarePost }
        if rural {
            // More leave the province in the March rush; January's and February's homecomings take some back.
            let outShare = month == 3 ? 0.28 : 0.16
            person.location = pick([(.local, 0.53), (.inProvince, 0.31), (.outOfProvince, outShare)])
        } else {
            person.location = pick([(.local, 0.85), (.inProvince, 0.10), (.outOfProvince, 0.05)])
        }
        person.sector = pick([
            (.a, 0.12), (.b, 0.08), (.c, 0.18), (.d, 0.02), (.e, 0.12), (.f, 0.12), (.g, 0.06), (.h, 0.07), (.i, 0.02),
            (.j, 0.01), (.k, 0.02), (.l, 0.02), (.m, 0.01), (.n, 0.01), (.o, 0.05), (.p, 0.04), (.q, 0.03), (.r, 0.01),
            (.s, 0.01),
        ])
        person.income = pick([
            (.below2000, 0.15), (.from2000To3999, 0.45), (.from4000To5999, 0.28), (.from6000To7999, 0.08),
            (.atLeast8000, 0.04),
        ])
    }

    private mutating func unemploy(_ person: inout SimPerson, registration: Double) {
        person.status = .unemployed
        person.registered = generator.chance(registration)
        person.form = nil
        person.location = nil
        person.sector = nil
        person.income = nil
    }

    private mutating func withdraw(_ person: inout SimPerson) {
        unemploy(&person, registration: 0)
        person.status = .notInLabourForce
        person.registered = false
    }

    private mutating func pick<T>(_ choices: [(T, Double)]) -> T {
        let total = choices.reduce(0) { $0 + $1.1 }
        var roll = Double.random(in: 0..<total, using: &generator)
        for (value, weight) in choices {
            if roll < weight { return value }
            roll -= weight
        }
        return choices[choices.count - 1].0
    }

    static func residentID(county: String, year: Int, month: Int, day: Int, sequence: Int) -> String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let body = county + pad(year, 4) + pad(month, 2) + pad(day, 2) + pad(sequence, 3)
        return ResidentID.appendingCheckCharacter(to: body) ?? body
    }
}
