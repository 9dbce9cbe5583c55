/// Derivative-free minimisation (Nelder & Mead 1965), enough for the handful of smoothing parameters of an
/// exponential-smoothing model. The objective returns `.infinity` outside the admissible region.
struct NelderMead {
    var maxEvaluations = 2_000
    var tolerance = 1e-8

    func minimize(_ objective: ([Double]) -> Double, start: [Double], steps: [Double]) -> (
        point: [Double], value: Double
    ) {
        let dimension = start.count
        var simplex = [start]
        for index in 0..<dimension {
            var vertex = start
            vertex[index] += steps[index]
            simplex.append(vertex)
        }
        var values = simplex.map(objective)
        var evaluations = simplex.count
        while evaluations < maxEvaluations {
            let order = values.indices.sorted { values[$0] < values[$1] }
            simplex = order.map { simplex[$0] }
            values = order.map { values[$0] }
            let best = values[0]
            let worst = values[dimension]
            if worst.isFinite, abs(worst - best) <= tolerance * (abs(best) + tolerance) { break }
            var centroid = [Double](repeating: 0, count: dimension)
            for vertex in simplex.dropLast() {
                for index in 0..<dimension { centroid[index] += vertex[index] / Double(dimension) }
            }
            func along(_ factor: Double) -> [Double] {
                (0..<dimension).map { centroid[$0] + factor * (simplex[dimension][$0] - centroid[$0]) }
            }
            let reflected = along(-1)
            let reflectedValue = objective(reflected)
            evaluations += 1
            if reflectedValue < best {
                let expanded = along(-2)
                let expandedValue = objective(expanded)
                evaluations += 1
                if expandedValue < reflectedValue {
                    simplex[dimension] = expanded
                    values[dimension] = expandedValue
                } else {
                    simplex[dimension] = reflected
                    values[dimension] = reflectedValue
                }
            } else if reflectedValue < values[dimension - 1] {
                simplex[dimension] = reflected
                values[dimension] = reflectedValue
            } else {
                let outside = reflectedValue < worst
                let contracted = along(outside ? -0.5 : 0.5)
                let contractedValue = objective(contracted)
                evaluations += 1
                if contractedValue < (outside ? reflectedValue : worst) {
                    simplex[dimension] = contracted
                    values[dimension] = contractedValue
                } else {
                    for vertex in 1...dimension {
                        simplex[vertex] = (0..<dimension).map {
                            simplex[0][$0] + 0.5 * (simplex[vertex][$0] - simplex[0][$0])
                        }
                        values[vertex] = objective(simplex[vertex])
                    }
                    evaluations += dimension
                }
            }
        }
        let bestIndex = values.indices.min { values[$0] < values[$1] } ?? 0
        return (simplex[bestIndex], values[bestIndex])
    }
}
