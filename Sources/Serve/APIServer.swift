import Alerting
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Postgres
import Prometheus
import Situation

/// The HTTP API: the same query library as the CLI, behind bearer tokens scoped to a unit's subtree.
public struct APIServer: Sendable {
    public let database: PostgresClient
    public let topology: Topology
    public let query: SituationQuery
    public let tokens: APITokens
    /// Requests by endpoint and status, and their durations; served at /metrics.
    public let metrics = PrometheusCollectorRegistry()
    /// Where the causes of 500s go: the response itself names none.
    public let logger: Logger

    public init(database: PostgresClient, topology: Topology, targets: UnitTargets?, logger: Logger = Logger(label: "empmon.serve")) {
        self.database = database
        self.logger = logger
        self.topology = topology
        self.query = SituationQuery(database: database, topology: topology, targets: targets)
        self.tokens = APITokens(database: database)
    }

    /// What a handler returns: JSON, or CSV when the caller asked for `format=csv`.
    enum Output {
        case json(any Encodable & Sendable)
        case csv(header: [String], rows: [[String]], name: String)
    }

    /// Every route below, for the 405 answer to other methods; a test requests each one.
    public static let routes = [
        "/health", "/", "/metrics", "/api/v1/meta", "/api/v1/openapi.json", "/api/v1/situation", "/api/v1/completeness",
        "/api/v1/targets", "/api/v1/units/{code}/series", "/api/v1/units/{code}/forecast", "/api/v1/alerts", "/api/v1/rejections",
        "/api/v1/open-data/situation",
    ]

    public func router() -> Router<BasicRequestContext> {
        // HEAD answers every GET route, as the 405 answers' Allow header promises.
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: ResponseHeaders())
        router.add(middleware: RequestMetrics(registry: metrics))
        router.add(middleware: MethodNotAllowed(patterns: Self.routes))
        router.get("/health") { request, _ in
            await respondOpen(request) {
                do {
                    _ = try await database.withConnection { try await $0.query("SELECT 1") }
                } catch {
                    throw Problem(.serviceUnavailable, "the database does not answer")
                }
                return .json(["status": "ok", "database": "ok"])
            }
        }
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        router.get("/metrics") { _, _ in metrics.emitToString() }
        router.get("/api/v1/meta") { request, _ in
            await respond(request) { access in try await meta(access: access) }
        }
        router.get("/api/v1/openapi.json") { request, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/api/v1/situation") { request, _ in
            await respond(request) { access in try await situation(request, access: access) }
        }
        router.get("/api/v1/completeness") { request, _ in
            await respond(request) { access in try await completeness(request, access: access) }
        }
        router.get("/api/v1/targets") { request, _ in
            await respond(request) { access in try await targetProgress(request, access: access) }
        }
        router.get("/api/v1/units/{code}/series") { request, context in
            await respond(request) { access in try await series(request, code: context.parameters.get("code") ?? "", access: access) }
        }
        router.get("/api/v1/units/{code}/forecast") { request, context in
            await respond(request) { access in try await forecast(request, code: context.parameters.get("code") ?? "", access: access) }
        }
        router.get("/api/v1/alerts") { request, _ in
            await respond(request) { access in try await alerts(request, access: access) }
        }
        router.get("/api/v1/rejections") { request, _ in
            await respond(request) { access in try await rejections(request, access: access) }
        }
        router.get("/api/v1/open-data/situation") { request, _ in
            await respondOpen(request) { try await openData(request) }
        }
        return router
    }

    // MARK: - Plumbing

    /// An endpoint that reads with a token. Its handler gets the token's access, which is never optional: a
    /// handler cannot fall back to the whole city when a token is missing, because without one it never runs.
    func respond(_ request: Request, _ body: (APIAccess) async throws -> Output) async -> Response {
        await answer(request) { try await body(try await authenticate(request)) }
    }

    /// An open endpoint (health, open data): its handler gets no access at all, so it cannot read by scope.
    func respondOpen(_ request: Request, _ body: () async throws -> Output) async -> Response {
        await answer(request, body)
    }

    func authenticate(_ request: Request) async throws -> APIAccess {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw Problem(.unauthorized, "send a bearer token: Authorization: Bearer emt_…")
        }
        guard let granted = try await tokens.access(for: String(header.dropFirst("Bearer ".count))) else {
            throw Problem(.unauthorized, "the token is unknown or revoked")
        }
        return granted
    }

    func answer(_ request: Request, _ produce: () async throws -> Output) async -> Response {
        let path = request.uri.path
        do {
            let output = try await produce()
            let wantsCSV = request.uri.queryParameters.get("format") == "csv"
            switch output {
            case .csv(let header, let rows, let name) where wantsCSV:
                let text = ([header] + rows).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
                return Response(
                    status: .ok,
                    headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name).csv\""],
                    body: .init(byteBuffer: ByteBuffer(string: text)))
            case .csv:
                throw Problem.badRequest("this table is also available as CSV with format=csv; other formats are not")
            case .json(let value):
                if let format = request.uri.queryParameters.get("format"), format != "json", format != "csv" {
                    throw Problem.badRequest("format must be json or csv, not '\(format)'")
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
                return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
            }
        } catch let problem as Problem {
            return problem.response(path: path)
        } catch let error as QueryError {
            return Problem.badRequest(error.description).response(path: path)
        } catch {
            let reference = UUID().uuidString.prefix(8).lowercased()
            logger.error("request failed", metadata: ["http.path": "\(path)", "error": "\(String(reflecting: error))", "reference": "\(reference)"])
            return Problem(.internalServerError, "the request could not be answered; the server log has the details under reference \(reference)")
                .response(path: path)
        }
    }

    func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    func parameter(_ request: Request, _ name: String) -> String? { request.uri.queryParameters.get(name) }

    func period(_ request: Request, _ name: String = "period") throws -> Period {
        guard let text = parameter(request, name) else { throw Problem.badRequest("\(name) is required (YYYY-MM)") }
        guard let period = Period(text), Self.apiYears.contains(period.year) else {
            throw Problem.badRequest("\(name) '\(text)' is not a month YYYY-MM of the years 2000 to 2099")
        }
        return period
    }

    func tier(_ request: Request, default fallback: Tier? = nil) throws -> Tier {
        guard let text = parameter(request, "tier") else {
            if let fallback { return fallback }
            throw Problem.badRequest("tier is required: city, county, township or village")
        }
        guard let tier = Tier(rawValue: text) else { throw Problem.badRequest("tier '\(text)' is not city, county, township or village") }
        return tier
    }

    func indicator(_ request: Request, default fallback: IndicatorID? = nil) throws -> Indicator {
        guard let text = parameter(request, "indicator") ?? fallback?.rawValue else { throw Problem.badRequest("indicator is required") }
        guard let indicator = IndicatorCatalogue.indicator(IndicatorID(rawValue: text)) else {
            throw Problem.badRequest("indicator '\(text)' is not in the catalogue")
        }
        return indicator
    }

    func unit(_ text: String, access: APIAccess) throws -> DivisionCode {
        guard let code = DivisionCode(text) else { throw Problem.badRequest("'\(text)' is not a 12-digit division code") }
        // Scope before existence: a token learns nothing about units outside its subtree.
        if !access.covers(code) { throw Problem(.forbidden, "this token reads \(access.scope) and the units under it, not \(code)") }
        guard topology.contains(code) else { throw Problem(.notFound, "\(code) is not a unit of \(topology.city.name)") }
        return code
    }

    /// The scope a tier query runs in: the token's unit, or a unit inside it.
    func scope(_ request: Request, tier: Tier, access: APIAccess) throws -> DivisionCode {
        let root = try parameter(request, "within").map { try unit($0, access: access) } ?? access.scope
        if tier < root.tier { throw Problem(.forbidden, "this token reads \(root) (\(root.tier.rawValue)) and below, not the \(tier.rawValue) tier") }
        return root
    }

    /// The years a month parameter may name (`OpenAPIDocument.periodPattern`): it bounds a series to 1,200 months.
    static let apiYears = 2000...2099

    /// The moment whose figures the caller wants (as they stood then, before later revisions), if any. Any RFC 3339
    /// date-time, with or without fractional seconds.
    func asOf(_ request: Request) throws -> Date? {
        guard let text = parameter(request, "as_of") else { return nil }
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = plain.date(from: text) ?? fractional.date(from: text) else {
            throw Problem.badRequest("as_of '\(text)' is not an ISO 8601 moment such as 2024-07-15T00:00:00+08:00")
        }
        return date
    }

    func limit(_ request: Request, default fallback: Int, most: Int) throws -> Int {
        guard let text = parameter(request, "limit") else { return fallback }
        guard let value = Int(text), (1...most).contains(value) else { throw Problem.badRequest("limit must be 1 to \(most), not '\(text)'") }
        return value
    }

    static func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }

    // MARK: - Endpoints

    /// What the dashboard needs first: the token's unit and the latest month reported.
    func meta(access: APIAccess) async throws -> Output {
        let scope = access.scope
        struct Body: Encodable, Sendable { let scope: String; let scopeName: String; let scopeTier: String; let role: String; let latestPeriod: String? }
        let latest = try await query.history.lastReportedPeriod()
        return .json(Body(scope: scope.description, scopeName: topology[scope]?.name ?? "", scopeTier: scope.tier.rawValue,
            role: access.role.rawValue, latestPeriod: latest?.description))
    }

    func situation(_ request: Request, access: APIAccess) async throws -> Output {
        let tier = try tier(request)
        let period = try period(request)
        let indicator = try indicator(request, default: "new_urban_employment")
        let root = try scope(request, tier: tier, access: access)
        let table = try await query.situation(tier: tier, period: period, indicator: indicator.id, within: root, asOf: try asOf(request))
        if parameter(request, "format") == "csv" {
            return .csv(
                header: ["unit", "name", "value", "mom", "yoy", "rank", "reporting_rate", "ytd", "target", "progress", "status"],
                rows: table.rows.map { [$0.unit, $0.name, Self.number($0.value), Self.number($0.monthOnMonth), Self.number($0.yearOnYear), $0.rank.map(String.init) ?? "",
                    Self.number($0.reportingRate), Self.number($0.yearToDate), Self.number($0.target), Self.number($0.progress), $0.status.rawValue] },
                name: "situation-\(tier.rawValue)-\(period)-\(indicator.id)")
        }
        return .json(table)
    }

    func completeness(_ request: Request, access: APIAccess) async throws -> Output {
        let tier = try tier(request)
        let period = try period(request)
        let root = try scope(request, tier: tier, access: access)
        let table = try await query.situation(tier: tier, period: period, indicator: "reporting_rate", within: root)
        struct Row: Encodable, Sendable { let unit: String; let name: String; let rate: Double?; let status: String }
        let rows = table.rows.map { Row(unit: $0.unit, name: $0.name, rate: $0.value, status: $0.status.rawValue) }
        if parameter(request, "format") == "csv" {
            return .csv(header: ["unit", "name", "reporting_rate"], rows: rows.map { [$0.unit, $0.name, Self.number($0.rate)] }, name: "completeness-\(tier.rawValue)-\(period)")
        }
        struct Body: Encodable, Sendable { let tier: String; let period: String; let units: [Row] }
        return .json(Body(tier: tier.rawValue, period: period.description, units: rows))
    }

    func targetProgress(_ request: Request, access: APIAccess) async throws -> Output {
        let period = try period(request)
        let root = try parameter(request, "unit").map { try unit($0, access: access) } ?? access.scope
        struct Row: Encodable, Sendable {
            let indicator: String; let name: String; let yearToDate: Double?; let target: Double?; let progress: Double?; let yearElapsed: Double
        }
        var rows: [Row] = []
        for (id, _) in (query.targets?.cityTargets ?? [:]).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard let indicator = IndicatorCatalogue.indicator(id) else { continue }
            let table = try await query.situation(tier: root.tier, period: period, indicator: id, within: root)
            guard let row = table.rows.first(where: { $0.unit == root.description }) else { continue }
            rows.append(Row(indicator: id.rawValue, name: indicator.chineseName, yearToDate: row.yearToDate, target: row.target, progress: row.progress, yearElapsed: table.yearElapsed))
        }
        if parameter(request, "format") == "csv" {
            return .csv(header: ["indicator", "name", "ytd", "target", "progress", "year_elapsed"],
                rows: rows.map { [$0.indicator, $0.name, Self.number($0.yearToDate), Self.number($0.target), Self.number($0.progress), Self.number($0.yearElapsed)] },
                name: "targets-\(root)-\(period)")
        }
        struct Body: Encodable, Sendable { let unit: String; let period: String; let targets: [Row] }
        return .json(Body(unit: root.description, period: period.description, targets: rows))
    }

    func series(_ request: Request, code: String, access: APIAccess) async throws -> Output {
        let unit = try unit(code, access: access)
        let indicator = try indicator(request)
        let first = try period(request, "from")
        let last = try period(request, "to")
        let asOf = try asOf(request)
        // from after to is an empty range, as `Period.through` has it, not an error.
        let points = first <= last ? try await query.series(unit: unit, indicator: indicator.id, from: first, through: last, asOf: asOf) : []
        if parameter(request, "format") == "csv" {
            return .csv(header: ["period", "value", "seasonally_adjusted", "trend", "mom", "yoy", "status"],
                rows: points.map { [$0.period, Self.number($0.value), Self.number($0.seasonallyAdjusted), Self.number($0.trend), Self.number($0.monthOnMonth), Self.number($0.yearOnYear), $0.status.rawValue] },
                name: "series-\(unit)-\(indicator.id)")
        }
        struct Body: Encodable, Sendable { let unit: String; let name: String; let indicator: String; let points: [SeriesPoint] }
        return .json(Body(unit: unit.description, name: topology[unit]?.name ?? "", indicator: indicator.id.rawValue, points: points))
    }

    func forecast(_ request: Request, code: String, access: APIAccess) async throws -> Output {
        let unit = try unit(code, access: access)
        let indicator = try indicator(request, default: "new_urban_employment")
        guard let stored = try await StoredForecasts(database: database, topology: topology).latest(indicator: indicator.id, units: [unit]) else {
            throw Problem(.notFound, "no stored forecast of \(indicator.id); run `empmon forecast --indicator \(indicator.id)`")
        }
        let points = stored.points[unit] ?? []
        if parameter(request, "format") == "csv" {
            return .csv(header: ["period", "model", "mean", "lo80", "hi80", "lo95", "hi95"],
                rows: points.map { [$0.period, $0.model, Self.number($0.mean), Self.number($0.lo80), Self.number($0.hi80), Self.number($0.lo95), Self.number($0.hi95)] },
                name: "forecast-\(unit)-\(indicator.id)")
        }
        struct Body: Encodable, Sendable { let unit: String; let indicator: String; let created: String; let points: [StoredForecasts.Point] }
        return .json(Body(unit: unit.description, indicator: indicator.id.rawValue, created: stored.created, points: points))
    }

    func alerts(_ request: Request, access: APIAccess) async throws -> Output {
        let state = parameter(request, "state")
        if let state, !["pending", "firing", "resolved"].contains(state) { throw Problem.badRequest("state must be pending, firing or resolved") }
        let limit = try limit(request, default: 1_000, most: 10_000)
        let records = try await AlertRecord.list(database: database, state: state, within: access.scope, limit: limit)
        if parameter(request, "format") == "csv" {
            return .csv(header: ["id", "state", "severity", "rule", "unit", "since", "last_period", "message"],
                rows: records.map { [String($0.id), $0.state, $0.severity, $0.rule, $0.unit, $0.since, $0.lastPeriod, $0.message] }, name: "alerts")
        }
        return .json(records)
    }

    func rejections(_ request: Request, access: APIAccess) async throws -> Output {
        guard access.role == .analyst else { throw Problem(.forbidden, "rejections are for analyst tokens") }
        let scope = access.scope
        let limit = try limit(request, default: 200, most: 10_000)
        struct Row: Encodable, Sendable { let id: Int64; let unit: String?; let agent: String?; let reason: String; let field: String; let message: String; let rejectedAt: String }
        let rows = try await database.withConnection { connection in
            try await connection.query(
                """
                SELECT id, unit_code, agent_id, reason_code, field, message_zh, to_char(rejected_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS')
                FROM rejections WHERE $1 OR unit_code LIKE $2 ORDER BY id DESC LIMIT $3
                """, [scope == topology.city.code, scope.subtreePrefix + "%", limit]
            ).map { row in
                let (id, unit, agent, reason, field, message, at) = try row.decode((Int64, String?, String?, String, String, String, String).self)
                return Row(id: id, unit: unit, agent: agent, reason: reason, field: field, message: message, rejectedAt: at)
            }
        }
        if parameter(request, "format") == "csv" {
            return .csv(header: ["id", "unit", "agent", "reason", "field", "message", "rejected_at"],
                rows: rows.map { [String($0.id), $0.unit ?? "", $0.agent ?? "", $0.reason, $0.field, $0.message, $0.rejectedAt] }, name: "rejections")
        }
        return .json(rows)
    }

    /// Counts of fewer than 5 people are suppressed (and rates whose denominator is under 5), so that no
    /// published cell points at a handful of identifiable persons; for counts, a sibling goes with a lone
    /// suppressed cell, so that the parent's total does not give it back (`SmallCellSuppression`).
    func openData(_ request: Request) async throws -> Output {
        let tier = try tier(request, default: .county)
        let period = try period(request)
        let indicator = try indicator(request, default: "employed")
        let table = try await query.situation(tier: tier, period: period, indicator: indicator.id)
        let counts = try await query.history.counts(
            units: table.rows.compactMap { DivisionCode($0.unit) }, from: period, through: period, only: Set(indicator.countIDs))
        let countsUnits = indicator.id == "reporting_units" || indicator.id == "expected_units"
        var base: [DivisionCode: Int64] = [:]
        for row in table.rows {
            guard let unit = DivisionCode(row.unit) else { continue }
            let unitCounts = counts[unit]?[period] ?? [:]
            switch indicator.rollup {
            case .sum: base[unit] = countsUnits ? 0 : unitCounts[indicator.id] ?? 0
            case .ratio(_, let denominator): base[unit] = unitCounts[denominator] ?? 0
            }
        }
        let additive = if case .sum = indicator.rollup { true } else { false }
        let withheld = SmallCellSuppression(smallest: Self.smallestCell).withheld(base, additive: additive)
        struct Cell: Encodable, Sendable {
            let unit: String; let name: String; let value: Double?; let suppressed: Bool; let suppression: SmallCellSuppression.Reason?
        }
        let cells = table.rows.map { row -> Cell in
            let reason = DivisionCode(row.unit).flatMap { withheld[$0] }
            return Cell(unit: row.unit, name: row.name, value: reason == nil ? row.value : nil, suppressed: reason != nil, suppression: reason)
        }
        if parameter(request, "format") == "csv" {
            return .csv(header: ["unit", "name", indicator.id.rawValue, "suppressed"],
                rows: cells.map { [$0.unit, $0.name, Self.number($0.value), $0.suppression?.rawValue ?? ""] },
                name: "open-data-\(tier.rawValue)-\(period)-\(indicator.id)")
        }
        struct Body: Encodable, Sendable { let tier: String; let period: String; let indicator: String; let smallestCell: Int; let cells: [Cell] }
        return .json(Body(tier: tier.rawValue, period: period.description, indicator: indicator.id.rawValue, smallestCell: Int(Self.smallestCell), cells: cells))
    }

    static let smallestCell: Int64 = 5
}
