import Foundation

/// China Standard Time (UTC+8, no daylight saving): the clock by which months, closing days and report times are
/// reckoned, wherever the process runs.
public enum ChinaTime {
    public static let zone = TimeZone(secondsFromGMT: 8 * 3600) ?? .gmt

    public static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    /// The month it is in China at `date`.
    public static func period(at date: Date = Date()) -> Period {
        let parts = calendar.dateComponents([.year, .month], from: date)
        return Period(year: parts.year ?? 2020, month: parts.month ?? 1) ?? .earliest
    }
}
