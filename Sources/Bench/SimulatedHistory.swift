import CommandEdge
import Domain
import Harness
import Simulator

/// Every count indicator of every unit for each simulated month, computed from scratch as the verifier does:
/// the benches' stand-in for what the processor would have stored.
struct SimulatedHistory {
    let span: [Period]
    let counts: [DivisionCode: [Period: IndicatorCounts]]

    init(topology: Topology, months: Int, scale: Double) {
        var options = SimulationOptions()
        options.months = months
        options.scale = scale
        var simulation = Simulation(topology: topology, options: options)
        let pseudonymizer = Pseudonymizer(cityKey: Array("empmon bench".utf8))
        let computation = IndicatorComputation(topology: topology)
        var personKeys: [Int: String] = [:]
        var previous: SimulatedMonth?
        var counts: [DivisionCode: [Period: IndicatorCounts]] = [:]
        for index in 0..<months {
            if index > 0 { simulation.advance() }
            let month = simulation.emitMonth(pseudonymizer: pseudonymizer, personKeys: &personKeys)
            var persons: [Period: [String: PersonStatusRecord]] = [month.period: month.acceptedRecords]
            if let previous { persons[previous.period] = previous.acceptedRecords }
            let table = computation.compute(
                persons: persons, activity: [month.period: month.activityReports], periods: [month.period])
            for (unit, unitCounts) in table[month.period] ?? [:] {
                counts[unit, default: [:]][month.period] = unitCounts
            }
            previous = month
        }
        self.counts = counts
        self.span = options.start.through(options.start.advanced(by: months - 1))
    }
}
