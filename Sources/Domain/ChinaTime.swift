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

    /// The China date (YYYY-MM-DD) of a moment in Unix milliseconds.
    package static func dateText(milliseconds: Int64) -> String {
        let parts = calendar.dateComponents(
            [.year, .month, .day], from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        func pad(_ value: Int?) -> String { String(value ?? 0).leftPadded(to: 2) }
        return "\(parts.year ?? 0)-\(pad(parts.month))-\(pad(parts.day))"
    }

    /// The moment a month's reporting closes: 00:00 China time on the day after `closingDay` of the month after.
    package static func closes(_ period: Period, closingDay: Int) -> Date {
        let next = period.next
        return calendar.date(from: DateComponents(year: next.year, month: next.month, day: closingDay + 1))
            ?? .distantFuture
    }
}
