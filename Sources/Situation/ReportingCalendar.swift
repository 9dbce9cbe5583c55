import Domain
import Foundation

/// When a month's reports are due, in China Standard Time. A month closes on `closingDay` of the month after;
/// its figures stay preliminary until the following month has closed too, and are revised from then on.
package struct ReportingCalendar: Sendable {
    package var closingDay: Int

    package init(closingDay: Int = 10) { self.closingDay = closingDay }

    /// The moment a month's reporting closes: 00:00 CST on the day after `closingDay` of the next month.
    package func closes(_ period: Period) -> Date { ChinaTime.closes(period, closingDay: closingDay) }

    package enum Status: String, Sendable, Codable {
        case preliminary, revised
    }

    package func status(of period: Period, at moment: Date) -> Status {
        moment < closes(period.next) ? .preliminary : .revised
    }
}

/// Annual targets per unit: the city's figures from `Topology/targets.json`, apportioned to the units below by
/// their share of the city's labour force (until unit targets are published separately). `scale` shrinks count
/// targets for simulated cities smaller than the real one.
package struct UnitTargets: Sendable {
    package let year: Int
    package let city: DivisionCode
    package let cityTargets: [IndicatorID: Double]

    package init(year: Int, city: DivisionCode, targets: [String: Double], scale: Double = 1) {
        self.year = year
        self.city = city
        var scaled: [IndicatorID: Double] = [:]
        for (id, value) in targets {
            let indicator = IndicatorCatalogue.indicator(IndicatorID(rawValue: id))
            scaled[IndicatorID(rawValue: id)] = indicator?.unit == .count ? value * scale : value
        }
        self.cityTargets = scaled
    }

    /// The target of `indicator` for a unit whose labour force is `labourForceShare` of the city's.
    package func target(_ indicator: IndicatorID, unit: DivisionCode, labourForceShare: Double) -> Double? {
        guard let value = cityTargets[indicator] else { return nil }
        guard unit != city, IndicatorCatalogue.indicator(indicator)?.unit == .count else { return value }
        return value * labourForceShare
    }
}
