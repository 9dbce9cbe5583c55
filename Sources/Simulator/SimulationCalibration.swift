import Domain

/// The simulated city's year set against the plan: what an analyst sees first in the demo, so it must look like
/// Changzhi. Flows are summed over the simulated months, stocks and rates taken in the last month; every count
/// target is judged at target × scale within ±15%, the rates within the bands the bureau would find plausible.
package struct SimulationCalibration: Sendable {
    package enum Measure: String, Sendable { case flow, stock, rate }

    package struct Row: Sendable {
        package let indicator: IndicatorID
        package let name: String
        package let measure: Measure
        package let simulated: Double
        /// The plan's figure at the simulation's scale (counts), or the rate's aim.
        package let target: Double?
        package let band: ClosedRange<Double>?
        /// Why a row is not judged (too few events at this scale for ±15% to mean anything).
        package let unjudged: String?

        package var withinBand: Bool? { band.map { $0.contains(simulated) } }
    }

    /// Below this many expected events a year, chance alone moves a count by more than ±15%; such rows are
    /// shown but not judged (at scale 0.01: recruitment events, 2 a year; entrepreneurship jobs and trainees).
    package static let smallestJudgedCount = 150.0

    package let rows: [Row]

    package var failures: [Row] { rows.filter { $0.withinBand == false } }

    /// Simulates `options.months` months from `options.start` and measures them.
    /// - Parameter targets: the city's annual targets at scale 1 (`Topology/targets.json`).
    package static func measure(topology: Topology, options: SimulationOptions, targets: [String: Double])
        -> SimulationCalibration
    {
        var simulation = Simulation(topology: topology, options: options)
        let pseudonymizer = Pseudonymizer(cityKey: Array("empmon simulator calibration".utf8))
        let computation = IndicatorComputation(topology: topology)
        var personKeys: [Int: String] = [:]
        var previous: SimulatedMonth?
        var flows: IndicatorCounts = [:]
        var last: IndicatorCounts = [:]
        for monthIndex in 0..<options.months {
            if monthIndex > 0 { simulation.advance() }
            let month = simulation.emitMonth(pseudonymizer: pseudonymizer, personKeys: &personKeys)
            var persons: [Period: [String: PersonStatusRecord]] = [month.period: month.acceptedRecords]
            if let previous { persons[previous.period] = previous.acceptedRecords }
            let table = computation.compute(
                persons: persons, activity: [month.period: month.activityReports], periods: [month.period])
            let city = table[month.period]?[topology.city.code] ?? [:]
            flows.merge(city) { $0 + $1 }
            last = city
            previous = month
        }
        func ratio(_ numerator: Int64, _ denominator: Int64) -> Double {
            denominator > 0 ? Double(numerator) / Double(denominator) : 0
        }
        var rows: [Row] = []
        for indicator in IndicatorCatalogue.counts + IndicatorCatalogue.activity {
            guard let planned = targets[indicator.id.rawValue] else { continue }
            let isStock = !indicator.accumulatesOverYear
            let simulated = Double((isStock ? last : flows)[indicator.id] ?? 0)
            let target = planned * options.scale
            let judged = target >= smallestJudgedCount
            rows.append(
                Row(
                    indicator: indicator.id, name: indicator.chineseName, measure: isStock ? .stock : .flow,
                    simulated: simulated,
                    target: target, band: judged ? target * 0.85...target * 1.15 : nil,
                    unjudged: judged ? nil : "fewer than \(Int(smallestJudgedCount)) a year at this scale"))
        }
        rows.append(
            Row(
                indicator: .labourForce, name: "劳动力", measure: .stock, simulated: Double(last[.labourForce] ?? 0),
                target: 1_700_000 * options.scale,
                band: 1_700_000 * options.scale * 0.85...1_700_000 * options.scale * 1.15, unjudged: nil))
        rows.append(
            Row(
                indicator: .graduateEmploymentRate, name: "高校毕业生就业率", measure: .rate,
                simulated: ratio(last[.collegeGraduatesEmployed] ?? 0, last[.collegeGraduates] ?? 0), target: 0.9,
                band: 0.88...0.92,
                unjudged: nil))
        rows.append(
            Row(
                indicator: .assistanceRate, name: "帮扶率", measure: .rate,
                simulated: ratio(last[.assisted] ?? 0, last[.assistanceTarget] ?? 0), target: 1.0, band: 0.95...1.0,
                unjudged: nil))
        rows.append(
            Row(
                indicator: .urbanRegisteredUnemploymentRate, name: "城镇登记失业率", measure: .rate,
                simulated: ratio(last[.urbanRegisteredUnemployed] ?? 0, last[.urbanLabourForce] ?? 0),
                target: nil, band: 0.03...0.045, unjudged: nil))
        return SimulationCalibration(rows: rows)
    }
}
