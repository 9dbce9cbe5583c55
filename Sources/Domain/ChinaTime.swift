import Foundation

/// China Standard Time (UTC+8, no daylight saving): the clock by which months, closing days and report times are
/// reckoned, wherever the process runs.
package enum ChinaTime {
    package static let zone = TimeZone(secondsFromGMT: 8 * 3600) ?? .gmt

    package static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    /// The month it is in China at `date`.
    package static func period(at date: Date = Date()) -> Period {
        let parts = calendar.dateComponents([.year, .month], from: date)
        return Period(year: parts.year ?? 2020, month: parts.month ?? 1) ?? .earliest
    }
}
