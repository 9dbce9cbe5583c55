import Domain

extension SeededGenerator {
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}

public struct SimulationOptions: Sendable {
    public var months = 12
    /// 1.0 ≈ the city's ~1.7 million labour force; the default is a small town's worth.
    public var scale = 0.001
    public var seed: UInt64 = 1
    public var start = Period(year: 2024, month: 1)!
    /// Share of ledger rows written broken (bad ID check digit or unknown status), which agents refuse.
    public var malformedShare = 0.0
    /// Share of village-months submitted after the following month.
    public var lateShare = 0.0
    /// Share of village-months that get a corrected second file.
    public var correctionShare = 0.0
    /// Only these counties (all when empty): a sample of the city, for tests and trials.
    public var counties: Set<DivisionCode> = []
    public init() {}

    func includes(_ unit: DivisionCode) -> Bool {
        counties.isEmpty || unit.ancestor(at: .county).map(counties.contains) == true
    }
}

/// One simulated person. The raw ID number exists only here and in the ledger files, as on a clerk's computer.
struct SimPerson {
    let index: Int
    let idNumber: String
    let household: String
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
}

/// A synthetic labour force on the real Changzhi topology, evolving month by month with the seasons:
/// the Spring Festival return and departure of migrant workers, July graduates, the winter construction lull.
public struct Simulation: Sendable {
    public let topology: Topology
    public let options: SimulationOptions
    let villages: [Division]
    var persons: [SimPerson] = []
    var generator: SeededGenerator
    public private(set) var period: Period

    public init(topology: Topology, options: SimulationOptions) {
        self.topology = topology
        self.options = options
        self.villages = topology.allDivisions.filter { $0.tier == .village && options.includes($0.code) }
        self.generator = SeededGenerator(seed: options.seed)
        self.period = options.start
        populate()
    }

    public var personCount: Int { persons.count }

    private mutating func populate() {
        // Working-age residents: ~2.0 million at scale 1, of whom ~85% are in the labour force.
        let total = max(villages.count, Int((2_000_000 * options.scale).rounded()))
        let weights = villages.map { village in (village.isUrban ? 3.0 : 1.0) * Double.random(in: 0.5...1.5, using: &generator) }
        let weightSum = weights.reduce(0, +)
        var usedIDs: Set<String> = []
        var householdCounter = 0
        for (villageIndex, village) in villages.enumerated() {
            let count = max(1, Int((Double(total) * weights[villageIndex] / weightSum).rounded()))
            var inHousehold = 0
            var household = ""
            for _ in 0..<count {
                if inHousehold == 0 {
                    householdCounter += 1
                    household = "\(village.code.value % 1_000_000_000)-\(householdCounter)"
                    inHousehold = Int.random(in: 1...4, using: &generator)
                }
                inHousehold -= 1
                let age = Int.random(in: 16...64, using: &generator)
                let birthYear = options.start.year - age
                var id = ""
                repeat {
                    let month = Int.random(in: 1...12, using: &generator)
                    let day = Int.random(in: 1...28, using: &generator)
                    let sequence = Int.random(in: 0...999, using: &generator)
                    id = Self.residentID(county: village.code.countyKey, year: birthYear, month: month, day: day, sequence: sequence)
                } while !usedIDs.insert(id).inserted
                var groups: Set<PersonGroup> = []
                if !village.isUrban, generator.chance(0.75) { groups.insert(.ruralLabour) }
                if age < 30, generator.chance(0.18) { groups.insert(.collegeGraduate); groups.remove(.ruralLabour) }
                if generator.chance(0.05) { groups.insert(.hardToEmploy) }
                if !village.isUrban, generator.chance(0.08) { groups.insert(.povertyAlleviated) }
                if generator.chance(0.02) { groups.insert(.disabled) }
                if generator.chance(0.02) { groups.insert(.veteran) }
                var person = SimPerson(
                    index: persons.count, idNumber: id, household: household, village: villageIndex, birthYear: birthYear,
                    groups: groups, status: .notInLabourForce, registered: false)
                if generator.chance(0.85) {
                    if generator.chance(groups.contains(.hardToEmploy) ? 0.75 : 0.93) {
                        employ(&person, month: options.start.month)
                    } else {
                        unemploy(&person)
                    }
                }
                persons.append(person)
            }
        }
        monthlyServices()
    }

    /// Moves the city to the next month.
    public mutating func advance() {
        period = period.next
        let month = period.month
        for index in persons.indices {
            var person = persons[index]
            switch person.status {
            case .employed:
                var leave = 0.012
                if [12, 1, 2].contains(month), person.sector == .e { leave += 0.08 }  // winter construction lull
                // Spring Festival: migrants working out of province come home in January and February.
                if [1, 2].contains(month), person.location == .outOfProvince { leave += 0.25 }
                if generator.chance(leave) {
                    if generator.chance(0.05) { withdraw(&person) } else { unemploy(&person) }
                }
            case .unemployed:
                var find = person.registered ? 0.14 : 0.12
                if month == 3 { find += 0.25 }  // departure after the Festival
                if [1, 2].contains(month) { find -= 0.07 }
                if person.groups.contains(.hardToEmploy) { find *= 0.5 }
                if generator.chance(find) { employ(&person, month: month) }
            case .notInLabourForce:
                let age = period.year - person.birthYear
                // July: new graduates enter the labour market looking for work.
                if month == 7, (20...24).contains(age), generator.chance(0.12) {
                    person.groups.insert(.collegeGraduate)
                    person.groups.remove(.ruralLabour)
                    unemploy(&person)
                } else if generator.chance(0.004) {
                    unemploy(&person)
                }
            }
            persons[index] = person
        }
        monthlyServices()
    }

    private mutating func monthlyServices() {
        for index in persons.indices {
            let person = persons[index]
            let target = person.registered || (person.groups.contains(.hardToEmploy) && person.status != .employed)
            persons[index].assisted = target && generator.chance(0.7)
            persons[index].trained = person.status != .notInLabourForce && generator.chance(0.02)
        }
    }

    private mutating func employ(_ person: inout SimPerson, month: Int) {
        person.status = .employed
        person.registered = false
        let rural = person.groups.contains(.ruralLabour)
        let forms: [(EmploymentForm, Double)] = rural
            ? [(.employee, 0.45), (.flexible, 0.40), (.selfEmployed, 0.12), (.publicWelfarePost, 0.03)]
            : [(.employee, 0.70), (.flexible, 0.18), (.selfEmployed, 0.09), (.publicWelfarePost, 0.03)]
        person.form = pick(forms)
        if person.groups.contains(.hardToEmploy), generator.chance(0.3) { person.form = .publicWelfarePost }
        if rural {
            let outShare = month == 3 ? 0.25 : 0.12
            person.location = pick([(.local, 0.55), (.inProvince, 0.33 - (outShare - 0.12)), (.outOfProvince, outShare)])
        } else {
            person.location = pick([(.local, 0.85), (.inProvince, 0.10), (.outOfProvince, 0.05)])
        }
        person.sector = pick([
            (.a, 0.12), (.b, 0.08), (.c, 0.18), (.d, 0.02), (.e, 0.12), (.f, 0.12), (.g, 0.06), (.h, 0.07), (.i, 0.02),
            (.j, 0.01), (.k, 0.02), (.l, 0.02), (.m, 0.01), (.n, 0.01), (.o, 0.05), (.p, 0.04), (.q, 0.03), (.r, 0.01),
            (.s, 0.01),
        ])
        person.income = pick([(.below2000, 0.15), (.from2000To3999, 0.45), (.from4000To5999, 0.28), (.from6000To7999, 0.08), (.atLeast8000, 0.04)])
    }

    private mutating func unemploy(_ person: inout SimPerson) {
        person.status = .unemployed
        person.registered = generator.chance(0.55)
        person.form = nil
        person.location = nil
        person.sector = nil
        person.income = nil
    }

    private mutating func withdraw(_ person: inout SimPerson) {
        unemploy(&person)
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
