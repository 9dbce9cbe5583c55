import Analysis
import Domain
import Foundation
import Postgres

/// Forecasts of one indicator for every unit of the topology, reconciled across the tiers, kept in PostgreSQL.
package struct StoredForecasts: Sendable {
    package let database: PostgresClient
    package let topology: Topology

    package init(database: PostgresClient, topology: Topology) {
        self.database = database
        self.topology = topology
    }

    package struct Run: Sendable {
        package let id: Int64
        package let indicator: IndicatorID
        package let origin: Period
        package let forecasts: [DivisionCode: SeriesForecast]
        package let shrinkage: Double?
    }

    /// Fits, reconciles and stores. A count indicator is forecast at every unit and reconciled; a rate is the
    /// ratio of its reconciled numerator and denominator (its interval: the numerator's bounds over the
    /// denominator's mean).
    package func run(indicator id: IndicatorID, horizon: Int, batch: BatchForecast) async throws -> Run {
        guard let indicator = IndicatorCatalogue.indicator(id) else {
            throw QueryError("'\(id)' is not an indicator of the catalogue")
        }
        let history = IndicatorHistory(database: database)
        let periods = try await history.monitoredPeriods()
        guard let first = periods.first, let last = try await history.lastReportedPeriod() else {
            throw QueryError("nothing has been reported yet: no months to forecast from")
        }
        let units = topology.allDivisions.map(\.code)
        let counts = try await history.counts(units: units, from: first, through: last)
        let span = first.through(last)
        func table(_ count: IndicatorID) -> SeriesTable {
            var series: [String: SeriesTable.Series] = [:]
            var parents: [String: String?] = [:]
            for unit in units {
                let months = counts[unit] ?? [:]
                series[unit.description] = SeriesTable.Series(
                    unit: unit.description, start: first, values: span.map { Double(months[$0]?[count] ?? 0) })
                parents[unit.description] = unit.parent.map(\.description)
            }
            return SeriesTable(series: series, parents: parents)
        }
        var forecasts: [DivisionCode: SeriesForecast] = [:]
        var shrinkage: Double?
        switch indicator.rollup {
        case .sum:
            let result = try await batch.run(table(id), horizon: horizon)
            shrinkage = result.shrinkage
            for (name, forecast) in result.forecasts { if let code = DivisionCode(name) { forecasts[code] = forecast } }
        case .ratio(let numerator, let denominator):
            let top = try await batch.run(table(numerator), horizon: horizon)
            let bottom = try await batch.run(table(denominator), horizon: horizon)
            shrinkage = top.shrinkage
            for (name, upper) in top.forecasts {
                guard let code = DivisionCode(name), let lower = bottom.forecasts[name] else { continue }
                let ratio = { (value: Double, step: Int) in lower.mean[step] > 0 ? value / lower.mean[step] : .nan }
                let steps = 0..<horizon
                forecasts[code] = SeriesForecast(
                    model: upper.model + " ÷ " + lower.model,
                    mean: steps.map { ratio(upper.mean[$0], $0) }, lo80: steps.map { ratio(upper.lo80[$0], $0) },
                    hi80: steps.map { ratio(upper.hi80[$0], $0) },
                    lo95: steps.map { ratio(upper.lo95[$0], $0) }, hi95: steps.map { ratio(upper.hi95[$0], $0) })
            }
        }
        let origin = last.next
        let runID = try await database.withTransaction { connection in
            let id =
                try await connection.query(
                    "INSERT INTO forecast_runs (indicator, origin, horizon, reconciliation, shrinkage, series) VALUES ($1, $2::date, $3, $4, $5, $6) RETURNING id",
                    [id.rawValue, "\(origin)-01", horizon, batch.reconciliation.rawValue, shrinkage, forecasts.count]
                ).first.map { try $0.decode(Int64.self, at: 0) } ?? 0
            let rows = forecasts
            try await connection.copyIn(
                "COPY forecasts (run_id, unit_code, period, model, mean, lo80, hi80, lo95, hi95) FROM STDIN"
            ) { writer in
                for (unit, forecast) in rows {
                    for step in 0..<forecast.horizon {
                        let numbers = [
                            forecast.mean[step], forecast.lo80[step], forecast.hi80[step], forecast.lo95[step],
                            forecast.hi95[step],
                        ]
                        try writer.append(
                            [id, unit.description, "\(origin.advanced(by: step))-01", forecast.model]
                                + numbers.map { $0.isFinite ? $0 : nil })
                    }
                }
            }
            return id
        }
        return Run(id: runID, indicator: id, origin: origin, forecasts: forecasts, shrinkage: shrinkage)
    }

    package struct Point: Sendable, Codable, Hashable {
        package let period: String
        package let model: String
        package let mean: Double?
        package let lo80: Double?
        package let hi80: Double?
        package let lo95: Double?
        package let hi95: Double?
    }

    /// The latest stored forecast of an indicator for some units.
    package func latest(indicator: IndicatorID, units: [DivisionCode]) async throws -> (
        created: String, points: [DivisionCode: [Point]]
    )? {
        try await database.withConnection { connection in
            guard
                let run = try await connection.query(
                    "SELECT id, to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') FROM forecast_runs WHERE indicator = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
                    [indicator.rawValue]
                ).first
            else { return nil }
            let (id, created) = try run.decode((Int64, String).self)
            var points: [DivisionCode: [Point]] = [:]
            for row in try await connection.query(
                """
                SELECT unit_code, to_char(period, 'YYYY-MM'), model, mean, lo80, hi80, lo95, hi95 FROM forecasts
                WHERE run_id = $1 AND unit_code = ANY($2::bpchar[]) ORDER BY unit_code, period
                """, [id, PostgresArray(describing: units)])
            {
                guard let unit = DivisionCode(try row.decode(String.self, at: 0)) else { continue }
                points[unit, default: []].append(
                    Point(
                        period: try row.decode(String.self, at: 1), model: try row.decode(String.self, at: 2),
                        mean: try row.decode(Double?.self, at: 3), lo80: try row.decode(Double?.self, at: 4),
                        hi80: try row.decode(Double?.self, at: 5),
                        lo95: try row.decode(Double?.self, at: 6), hi95: try row.decode(Double?.self, at: 7)))
            }
            return (created, points)
        }
    }
}
