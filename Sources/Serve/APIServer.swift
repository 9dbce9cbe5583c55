import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import Postgres
import Prometheus
import Situation

/// The HTTP API: the same query library as the CLI, behind bearer tokens scoped to a unit's subtree.
package struct APIServer: Sendable {
    package let database: PostgresClient
    package let topology: Topology
    package let query: SituationQuery
    package let tokens: APITokens
    /// Requests by endpoint and status, and their durations; served at /metrics.
    package let metrics = PrometheusCollectorRegistry()
    /// Where the causes of 500s go: the response itself names none.
    package let logger: Logger
    /// The counties drawn for the dashboard's map (`/api/v1/map`); nil where no outlines were given.
    package let countyDrawing: CountyDrawing?

    package init(
        database: PostgresClient, topology: Topology, targets: UnitTargets?, countyMap: CountyMap? = nil,
        logger: Logger = Logger(label: "empmon.serve")
    ) {
        self.database = database
        self.countyDrawing = countyMap?.drawing()
        self.logger = logger
        self.topology = topology
        self.query = SituationQuery(database: database, topology: topology, targets: targets)
        self.tokens = APITokens(database: database)
    }

    /// What a handler returns: JSON, or CSV when the caller asked for `format=csv`.
    enum Output {
        case json(any Encodable & Sendable)
        /// `name` names the file; `title` heads a workbook, in the analysts' words.
        case csv(header: [String], rows: [[String]], name: String, title: String)
    }

    /// Every route below, for the 405 answer to other methods; a test requests each one.
    package static let routes = [
        "/health", "/", "/metrics", "/api/v1/meta", "/api/v1/openapi.json", "/api/v1/situation", "/api/v1/completeness",
        "/api/v1/targets", "/api/v1/units/{code}/series", "/api/v1/units/{code}/forecast", "/api/v1/alerts",
        "/api/v1/rejections", "/api/v1/quality", "/api/v1/map",
        "/api/v1/open-data/situation",
    ]

    /// The API's routes. Every `/api/v1` route reads with a token (an `AuthenticatedContext`, set by
    /// `TokenAuthentication`) except the open ones, which sit in a group of their own and get no access at all.
    package func router() -> Router<APIRequestContext> {
        // HEAD answers every GET route, as the 405 answers' Allow header promises.
        let router = Router(context: APIRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: ResponseHeaders())
        router.add(middleware: RequestMetrics(registry: metrics))
        router.add(middleware: MethodNotAllowed(patterns: Self.routes))
        router.add(middleware: ProblemResponses(logger: logger))
        router.get("/health") { _, _ in
            do {
                _ = try await database.withConnection { try await $0.query("SELECT 1") }
            } catch {
                throw Problem(.serviceUnavailable, "the database does not answer")
            }
            return try render(.json(["status": "ok", "database": "ok"]), as: .json)
        }
        router.get("/") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        router.get("/metrics") { _, _ in metrics.emitToString() }
        router.get("/api/v1/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/api/v1/open-data/situation") { request, _ in
            let parameters = APIQuery(request.uri)
            try parameters.refuseUnknownFormat()
            return try render(try await openData(parameters), as: try parameters.format())
        }
        let api = router.group("/api/v1").add(middleware: TokenAuthentication(tokens: tokens)).group(
            context: AuthenticatedContext.self)
        func read(
            _ path: RouterPath, _ handler: @escaping @Sendable (APIQuery, AuthenticatedContext) async throws -> Output
        ) {
            api.get(path) { request, context in
                let parameters = APIQuery(request.uri)
                try parameters.refuseUnknownFormat()
                return try render(try await handler(parameters, context), as: try parameters.format())
            }
        }
        read("meta") { _, context in try await meta(access: context.access) }
        read("situation") { parameters, context in try await situation(parameters, access: context.access) }
        read("completeness") { parameters, context in try await completeness(parameters, access: context.access) }
        read("targets") { parameters, context in try await targetProgress(parameters, access: context.access) }
        read("units/{code}/series") { parameters, context in
            try await series(parameters, code: context.parameters.get("code") ?? "", access: context.access)
        }
        read("units/{code}/forecast") { parameters, context in
            try await forecast(parameters, code: context.parameters.get("code") ?? "", access: context.access)
        }
        read("alerts") { parameters, context in try await alerts(parameters, access: context.access) }
        read("rejections") { parameters, context in try await rejections(parameters, access: context.access) }
        read("quality") { parameters, context in try await quality(parameters, access: context.access) }
        read("map") { _, _ in try countyMap() }
        return router
    }

    // MARK: - Plumbing

    /// A handler's answer: JSON, or CSV for the tables whose handler saw `format=csv`. Every route refuses an
    /// unknown format before its handler runs (`refuseUnknownFormat`), so that a handler without a CSV form
    /// does not quietly answer JSON to `format=xml`.
    func render(_ output: Output, as format: APIQuery.Format) throws -> Response {
        switch output {
        case .csv(let header, let rows, let name, let title):
            // A handler's rows in the file asked for (`format=csv` for a JSON-only answer is refused before).
            let export = TableExport(rawValue: format.rawValue) ?? .csv
            return Response(
                status: .ok,
                headers: [
                    .contentType: export.contentType,
                    .contentDisposition: "attachment; filename=\"\(name).\(export.fileExtension)\"",
                ],
                body: .init(
                    byteBuffer: ByteBuffer(
                        bytes: try export.bytes(title: title, header: header, rows: rows, lineEnd: "\r\n"))))
        case .json(let value):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
            return Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
        }
    }

    static func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }

    /// The name of the unit a table is within.
    static func scopeName(_ root: DivisionCode, _ topology: Topology) -> String {
        topology[root]?.name ?? root.description
    }

    // MARK: - Endpoints

    /// The counties as SVG paths, for a choropleth. The outlines are the same for every token: which counties'
    /// figures a token may read is the situation endpoint's business.
    func countyMap() throws -> Output {
        guard let countyDrawing else {
            throw Problem(.notFound, "this server was started without county outlines (Topology/counties.geojson)")
        }
        return .json(countyDrawing)
    }

    /// What the dashboard needs first: the token's unit and the latest month reported.
    func meta(access: APIAccess) async throws -> Output {
        let scope = access.scope
        struct Body: Encodable, Sendable {
            let scope: String
            let scopeName: String
            let scopeTier: String
            let role: String
            let latestPeriod: String?
        }
        let latest = try await query.history.lastReportedPeriod()
        return .json(
            Body(
                scope: scope.description, scopeName: topology[scope]?.name ?? "", scopeTier: scope.tier.rawValue,
                role: access.role.rawValue, latestPeriod: latest?.description))
    }

    func situation(_ parameters: APIQuery, access: APIAccess) async throws -> Output {
        let tier = try parameters.tier()
        let period = try parameters.period()
        let indicator = try parameters.indicator(default: .newUrbanEmployment)
        let root = try parameters.scope(tier: tier, access: access, topology: topology)
        let table = try await query.situation(
            tier: tier, period: period, indicator: indicator.id, within: root, asOf: try parameters.asOf())
        if try parameters.format().isTable {
            return .csv(
                header: [
                    "unit", "name", "value", "mom", "yoy", "rank", "reporting_rate", "estimate", "estimated_villages",
                    "ytd", "target", "progress", "status",
                ],
                rows: table.rows.map {
                    [
                        $0.unit, $0.name, Self.number($0.value), Self.number($0.monthOnMonth),
                        Self.number($0.yearOnYear), $0.rank.map(String.init) ?? "",
                        Self.number($0.reportingRate), Self.number($0.estimate), String($0.estimatedVillages),
                        Self.number($0.yearToDate), Self.number($0.target),
                        Self.number($0.progress), $0.status.rawValue,
                    ]
                },
                name: "situation-\(tier.rawValue)-\(period)-\(indicator.id)",
                title: "\(indicator.chineseName) · \(Self.scopeName(root, topology))各\(tier.chineseName) · \(period)")
        }
        return .json(table)
    }

    func completeness(_ parameters: APIQuery, access: APIAccess) async throws -> Output {
        let tier = try parameters.tier()
        let period = try parameters.period()
        let root = try parameters.scope(tier: tier, access: access, topology: topology)
        let table = try await query.situation(tier: tier, period: period, indicator: .reportingRate, within: root)
        struct Row: Encodable, Sendable {
            let unit: String
            let name: String
            let rate: Double?
            let status: String
        }
        let rows = table.rows.map { Row(unit: $0.unit, name: $0.name, rate: $0.value, status: $0.status.rawValue) }
        if try parameters.format().isTable {
            return .csv(
                header: ["unit", "name", "reporting_rate"],
                rows: rows.map { [$0.unit, $0.name, Self.number($0.rate)] },
                name: "completeness-\(tier.rawValue)-\(period)",
                title: "报送完整率 · \(Self.scopeName(root, topology))各\(tier.chineseName) · \(period)")
        }
        struct Body: Encodable, Sendable {
            let tier: String
            let period: String
            let units: [Row]
        }
        return .json(Body(tier: tier.rawValue, period: period.description, units: rows))
    }

    func targetProgress(_ parameters: APIQuery, access: APIAccess) async throws -> Output {
        let period = try parameters.period()
        let root = try parameters.unit("unit", access: access, topology: topology)
        struct Row: Encodable, Sendable {
            let indicator: String
            let name: String
            let yearToDate: Double?
            let target: Double?
            let progress: Double?
            let yearElapsed: Double
        }
        var rows: [Row] = []
        for (id, _) in (query.targets?.cityTargets ?? [:]).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard let indicator = IndicatorCatalogue.indicator(id) else { continue }
            let table = try await query.situation(tier: root.tier, period: period, indicator: id, within: root)
            guard let row = table.rows.first(where: { $0.unit == root.description }) else { continue }
            rows.append(
                Row(
                    indicator: id.rawValue, name: indicator.chineseName, yearToDate: row.yearToDate, target: row.target,
                    progress: row.progress, yearElapsed: table.yearElapsed))
        }
        if try parameters.format().isTable {
            return .csv(
                header: ["indicator", "name", "ytd", "target", "progress", "year_elapsed"],
                rows: rows.map {
                    [
                        $0.indicator, $0.name, Self.number($0.yearToDate), Self.number($0.target),
                        Self.number($0.progress), Self.number($0.yearElapsed),
                    ]
                },
                name: "targets-\(root)-\(period)", title: "年度目标完成情况 · \(Self.scopeName(root, topology)) · \(period)")
        }
        struct Body: Encodable, Sendable {
            let unit: String
            let period: String
            let targets: [Row]
        }
        return .json(Body(unit: root.description, period: period.description, targets: rows))
    }

    func series(_ parameters: APIQuery, code: String, access: APIAccess) async throws -> Output {
        let unit = try APIQuery.unit(code, access: access, topology: topology)
        let indicator = try parameters.indicator()
        let first = try parameters.period("from")
        let last = try parameters.period("to")
        let asOf = try parameters.asOf()
        // from after to is an empty range, as `Period.through` has it, not an error.
        let points =
            first <= last
            ? try await query.series(unit: unit, indicator: indicator.id, from: first, through: last, asOf: asOf) : []
        if try parameters.format().isTable {
            return .csv(
                header: ["period", "value", "seasonally_adjusted", "trend", "mom", "yoy", "status"],
                rows: points.map {
                    [
                        $0.period, Self.number($0.value), Self.number($0.seasonallyAdjusted), Self.number($0.trend),
                        Self.number($0.monthOnMonth), Self.number($0.yearOnYear), $0.status.rawValue,
                    ]
                },
                name: "series-\(unit)-\(indicator.id)",
                title: "\(topology[unit]?.name ?? unit.description) · \(indicator.chineseName) · \(first)至\(last)")
        }
        struct Body: Encodable, Sendable {
            let unit: String
            let name: String
            let indicator: String
            let points: [SeriesPoint]
        }
        return .json(
            Body(
                unit: unit.description, name: topology[unit]?.name ?? "", indicator: indicator.id.rawValue,
                points: points))
    }

    func forecast(_ parameters: APIQuery, code: String, access: APIAccess) async throws -> Output {
        let unit = try APIQuery.unit(code, access: access, topology: topology)
        let indicator = try parameters.indicator(default: .newUrbanEmployment)
        guard
            let stored = try await StoredForecasts(database: database, topology: topology).latest(
                indicator: indicator.id, units: [unit])
        else {
            throw Problem(
                .notFound, "no stored forecast of \(indicator.id); run `empmon forecast --indicator \(indicator.id)`")
        }
        let points = stored.points[unit] ?? []
        if try parameters.format().isTable {
            return .csv(
                header: ["period", "model", "mean", "lo80", "hi80", "lo95", "hi95"],
                rows: points.map {
                    [
                        $0.period, $0.model, Self.number($0.mean), Self.number($0.lo80), Self.number($0.hi80),
                        Self.number($0.lo95), Self.number($0.hi95),
                    ]
                },
                name: "forecast-\(unit)-\(indicator.id)",
                title: "\(topology[unit]?.name ?? unit.description) · \(indicator.chineseName) · 预测")
        }
        struct Body: Encodable, Sendable {
            let unit: String
            let indicator: String
            let created: String
            let points: [StoredForecasts.Point]
        }
        return .json(
            Body(unit: unit.description, indicator: indicator.id.rawValue, created: stored.created, points: points))
    }

    func alerts(_ parameters: APIQuery, access: APIAccess) async throws -> Output {
        let state = try parameters.alertState()
        let limit = try parameters.limit(default: 1_000, most: 10_000)
        let records = try await AlertRecord.list(database: database, state: state, within: access.scope, limit: limit)
        if try parameters.format().isTable {
            return .csv(
                header: ["id", "state", "severity", "rule", "unit", "since", "last_period", "message"],
                rows: records.map {
                    [String($0.id), $0.state, $0.severity, $0.rule, $0.unit, $0.since, $0.lastPeriod, $0.message]
                }, name: "alerts", title: "预警")
        }
        return .json(records)
    }

    func rejections(_ parameters: APIQuery, access: APIAccess) async throws -> Output {
        guard access.role == .analyst else { throw Problem(.forbidden, "rejections are for analyst tokens") }
        let scope = access.scope
        let limit = try parameters.limit(default: 200, most: 10_000)
        let rows = try await RejectionRecord.list(
            database: database, scope: scope, isCity: scope == topology.city.code, limit: limit)
        if try parameters.format().isTable {
            return .csv(
                header: ["id", "unit", "agent", "reason", "field", "message", "rejected_at"],
                rows: rows.map {
                    [String($0.id), $0.unit ?? "", $0.agent ?? "", $0.reason, $0.field, $0.message, $0.rejectedAt]
                }, name: "rejections", title: "被退回的记录")
        }
        return .json(rows)
    }

    func quality(_ parameters: APIQuery, access: APIAccess) async throws -> Output {
        let root = try parameters.unit("within", access: access, topology: topology)
        let flaggedOnly = try parameters.flag("flagged")
        let period: Period
        if parameters.text("period") != nil {
            period = try parameters.period()
        } else {
            guard let latest = try await query.history.lastReportedPeriod() else {
                throw Problem(.notFound, "nothing has been reported yet: there is no month to assess")
            }
            period = latest
        }
        var table = try await DataQualityView(database: database, topology: topology).table(
            period: period, within: root == topology.city.code ? nil : root)
        if flaggedOnly { table = table.keepingFlagged() }
        if try parameters.format().isTable {
            return .csv(
                header: DataQualityTable.header, rows: table.rows, name: "quality-\(root)-\(period)",
                title: table.title(unitName: Self.scopeName(root, topology)))
        }
        return .json(table)
    }

    /// Counts of fewer than 5 people are suppressed (and rates whose denominator is under 5), so that no
    /// published cell points at a handful of identifiable persons; for counts, a sibling goes with a lone
    /// suppressed cell, so that the parent's total does not give it back (`SmallCellSuppression`).
    func openData(_ parameters: APIQuery) async throws -> Output {
        let tier = try parameters.tier(default: .county)
        let period = try parameters.period()
        let indicator = try parameters.indicator(default: .employed)
        let table = try await query.situation(tier: tier, period: period, indicator: indicator.id)
        let counts = try await query.history.counts(
            units: table.rows.compactMap { DivisionCode($0.unit) }, from: period, through: period,
            only: Set(indicator.countIDs))
        let countsUnits = indicator.id == .reportingUnits || indicator.id == .expectedUnits
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
            let unit: String
            let name: String
            let value: Double?
            let suppressed: Bool
            let suppression: SmallCellSuppression.Reason?
        }
        let cells = table.rows.map { row -> Cell in
            let reason = DivisionCode(row.unit).flatMap { withheld[$0] }
            return Cell(
                unit: row.unit, name: row.name, value: reason == nil ? row.value : nil, suppressed: reason != nil,
                suppression: reason)
        }
        if try parameters.format().isTable {
            return .csv(
                header: ["unit", "name", indicator.id.rawValue, "suppressed"],
                rows: cells.map { [$0.unit, $0.name, Self.number($0.value), $0.suppression?.rawValue ?? ""] },
                name: "open-data-\(tier.rawValue)-\(period)-\(indicator.id)",
                title: "公开数据 · \(indicator.chineseName) · 各\(tier.chineseName) · \(period)")
        }
        struct Body: Encodable, Sendable {
            let tier: String
            let period: String
            let indicator: String
            let smallestCell: Int
            let cells: [Cell]
        }
        return .json(
            Body(
                tier: tier.rawValue, period: period.description, indicator: indicator.id.rawValue,
                smallestCell: Int(Self.smallestCell), cells: cells))
    }

    static let smallestCell: Int64 = 5
}
