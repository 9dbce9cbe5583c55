import Domain
import Foundation
import Hummingbird
import HummingbirdCore

/// A request's query parameters, parsed exactly as the OpenAPI document describes them. Pure (no request, no
/// database, no token lookup), so that the fuzzer drives the same parsing the server does.
package struct APIQuery: Sendable {
    package let uri: URI

    package init(_ uri: URI) { self.uri = uri }

    /// A request target such as `/api/v1/situation?tier=county&period=2024-03`, as it arrives.
    package init(target: String) { self.uri = URI(target) }

    package func text(_ name: String) -> String? { uri.queryParameters.get(name) }

    /// The years a month parameter may name (`OpenAPIDocument.periodPattern`): it bounds a series to 1,200 months.
    package static let years = 2000...2099

    package func period(_ name: String = "period") throws(Problem) -> Period {
        guard let text = text(name) else { throw Problem.badRequest("\(name) is required (YYYY-MM)") }
        guard let period = Period(text), Self.years.contains(period.year) else {
            throw Problem.badRequest("\(name) '\(text)' is not a month YYYY-MM of the years 2000 to 2099")
        }
        return period
    }

    package func tier(default fallback: Tier? = nil) throws(Problem) -> Tier {
        guard let text = text("tier") else {
            if let fallback { return fallback }
            throw Problem.badRequest("tier is required: city, county, township or village")
        }
        guard let tier = Tier(rawValue: text) else {
            throw Problem.badRequest("tier '\(text)' is not city, county, township or village")
        }
        return tier
    }

    package func indicator(default fallback: IndicatorID? = nil) throws(Problem) -> Indicator {
        guard let text = text("indicator") ?? fallback?.rawValue else {
            throw Problem.badRequest("indicator is required")
        }
        guard let indicator = IndicatorCatalogue.indicator(IndicatorID(rawValue: text)) else {
            throw Problem.badRequest("indicator '\(text)' is not in the catalogue")
        }
        return indicator
    }

    /// The moment whose figures the caller wants (as they stood then, before later revisions), if any. Any RFC 3339
    /// date-time, with or without fractional seconds.
    package func asOf() throws(Problem) -> Date? {
        guard let text = text("as_of") else { return nil }
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = plain.date(from: text) ?? fractional.date(from: text) else {
            throw Problem.badRequest("as_of '\(text)' is not an ISO 8601 moment such as 2024-07-15T00:00:00+08:00")
        }
        return date
    }

    package func limit(default fallback: Int, most: Int) throws(Problem) -> Int {
        guard let text = text("limit") else { return fallback }
        guard let value = Int(text), (1...most).contains(value) else {
            throw Problem.badRequest("limit must be 1 to \(most), not '\(text)'")
        }
        return value
    }

    /// A yes-or-no parameter: true or 1, false or 0; `fallback` when absent.
    package func flag(_ name: String, default fallback: Bool = false) throws(Problem) -> Bool {
        guard let text = text(name) else { return fallback }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw Problem.badRequest("\(name) must be true or false, not '\(text)'")
        }
    }

    /// An alert state to filter by, if any.
    package func alertState() throws(Problem) -> String? {
        guard let state = text("state") else { return nil }
        guard ["pending", "firing", "resolved"].contains(state) else {
            throw Problem.badRequest("state must be pending, firing or resolved")
        }
        return state
    }

    /// JSON, or a table: CSV, CSV with a UTF-8 byte-order mark (`csv-excel`: without it Excel and WPS read the
    /// Chinese as GBK and show it garbled), or an Excel workbook (`xlsx`).
    package enum Format: String, Sendable, CaseIterable {
        case json
        case csv
        case csvExcel = "csv-excel"
        case xlsx

        /// The handler lays its answer out as rows and columns.
        package var isTable: Bool { self != .json }
    }

    /// Throws unless `format` is absent or one of `Format`.
    package func refuseUnknownFormat() throws(Problem) { _ = try format() }

    package func format() throws(Problem) -> Format {
        guard let text = text("format") else { return .json }
        guard let format = Format(rawValue: text) else {
            throw Problem.badRequest(
                "format must be \(Format.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
        }
        return format
    }

    /// A unit the token may read: a division code, inside the token's scope, of this city. Scope is checked before
    /// existence, so that a token learns nothing about units outside its subtree.
    package static func unit(_ text: String, access: APIAccess, topology: Topology) throws(Problem) -> DivisionCode {
        guard let code = DivisionCode(text) else {
            throw Problem.badRequest("'\(text)' is not a 12-digit division code")
        }
        if !access.covers(code) {
            throw Problem(.forbidden, "this token reads \(access.scope) and the units under it, not \(code)")
        }
        guard topology.contains(code) else {
            throw Problem(.notFound, "\(code) is not a unit of \(topology.city.name)")
        }
        return code
    }

    /// The unit a parameter names, or the token's own unit when it names none.
    package func unit(_ name: String, access: APIAccess, topology: Topology) throws(Problem) -> DivisionCode {
        guard let text = text(name) else { return access.scope }
        return try Self.unit(text, access: access, topology: topology)
    }

    /// The scope a tier query runs in: the token's unit, or a unit inside it (`within`).
    package func scope(tier: Tier, access: APIAccess, topology: Topology) throws(Problem) -> DivisionCode {
        let root = try unit("within", access: access, topology: topology)
        if tier < root.tier {
            throw Problem(
                .forbidden, "this token reads \(root) (\(root.tier.rawValue)) and below, not the \(tier.rawValue) tier")
        }
        return root
    }
}
