import Agent
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging

/// The clerk's page on the agent's own computer: choose the month and unit, drop the ledger (xlsx or CSV),
/// read every row error in Chinese, send, and watch the month-by-month status. It serves one agent's home
/// and nothing else, on loopback by default.
///
/// Other web pages the clerk opens must not be able to drive it: every change is a POST that must carry the
/// `X-Empmon-Agent` header (a cross-site page cannot send one without a CORS preflight, which is never
/// granted), and requests naming another host are refused (DNS rebinding).
package struct AgentPageServer: Sendable {
    package let workspace: AgentWorkspace
    package let topology: Topology
    package let desk: DeliveryDesk
    package let logger: Logger
    /// Largest ledger accepted in one upload.
    package static let uploadLimit = 64 << 20

    package init(workspace: AgentWorkspace, topology: Topology, desk: DeliveryDesk, logger: Logger) {
        self.workspace = workspace
        self.topology = topology
        self.desk = desk
        self.logger = logger
    }

    package func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: LocalOnly())
        router.get("/") { _, _ in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-cache",
                    .contentSecurityPolicy:
                        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ],
                body: .init(byteBuffer: ByteBuffer(string: AgentPageHTML.html)))
        }
        router.get("/api/agent") { _, _ in try json(agentInfo()) }
        router.get("/api/status") { _, _ in try json(await status()) }
        router.post("/api/submit") { request, context in
            try await submit(request, context: context)
        }
        router.post("/api/flush") { _, _ in
            let result = await desk.flushNow()
            return try json(result)
        }
        router.get("/template.csv") { _, _ in
            download(LedgerTemplate.csv(), type: "text/csv; charset=utf-8", name: "就业监测台账模板.csv")
        }
        router.get("/template.xlsx") { _, _ in
            download(
                try LedgerTemplate.xlsx(), type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                name: "就业监测台账模板.xlsx")
        }
        return router
    }

    struct UnitChoice: Encodable {
        let code: String
        let name: String
        let tier: String
    }

    struct AgentInfo: Encodable {
        let agent: String
        let unit: UnitChoice
        let villages: [UnitChoice]
        let month: String
    }

    func agentInfo() -> AgentInfo {
        let unit = workspace.credentials.unit
        let name = topology[unit]?.name ?? workspace.credentials.name
        let villages: [UnitChoice] =
            unit.tier == .village
            ? []
            : topology.units(of: .village, under: unit).map { village in
                let township = village.code.parent.flatMap { topology[$0]?.name } ?? ""
                return UnitChoice(
                    code: village.code.description, name: township + " " + village.name, tier: village.tier.chineseName)
            }
        return AgentInfo(
            agent: workspace.credentials.agentID,
            unit: UnitChoice(code: unit.description, name: name, tier: unit.tier.chineseName),
            villages: villages, month: desk.now().previous.description)
    }

    struct StatusAnswer: Encodable {
        /// Newest month first.
        let months: [SpoolMonthStatus]
        /// Rows the city refused, with their ledger lines and reasons.
        let rejections: [SpoolRejection]
        let receipts: ReceiptListening
        let lastDelivery: DeliveryDesk.Attempt?
    }

    func status() async throws -> StatusAnswer {
        let last = await desk.lastAttempt
        return StatusAnswer(
            months: try workspace.status().reversed(), rejections: try workspace.spool.rejections(),
            receipts: try workspace.spool.receiptListening(), lastDelivery: last)
    }

    struct ErrorRow: Encodable {
        let line: Int
        let column: String
        let reason: String
    }

    struct SubmitAnswer: Encodable {
        let file: String
        let encoding: String
        let rows: Int
        let errors: [ErrorRow]
        let ignoredColumns: [String]
        let spooled: Int
        let missingFromPrevious: [Int]
        let delivery: DeliveryDesk.Attempt?
    }

    private func submit(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        guard let periodText = query["period"].map(String.init), let period = Period(periodText) else {
            return problem(.badRequest, "请选择月份（YYYY-MM）")
        }
        guard let unitText = query["unit"].map(String.init), let unit = DivisionCode(unitText), topology.contains(unit)
        else {
            return problem(.badRequest, "请选择上报单位")
        }
        guard unit.tier == .village else { return problem(.badRequest, "人员台账按村（社区）上报，请选择一个村（社区）") }
        guard unit.isInSubtree(of: workspace.credentials.unit) else {
            return problem(.forbidden, "本机只能上报 \(workspace.credentials.unit) 及其下级单位")
        }
        guard period <= desk.now() else { return problem(.badRequest, "不能上报未来的月份 \(period)") }
        let name = query["name"].map(String.init).flatMap { $0.removingPercentEncoding ?? $0 } ?? "台账"
        let skipInvalid = query["skipInvalid"] == "1"
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: Self.uploadLimit) } catch {
            return problem(.contentTooLarge, "文件太大（上限 \(Self.uploadLimit >> 20) MB）")
        }
        guard body.readableBytes > 0 else { return problem(.badRequest, "文件是空的") }
        let report: AgentWorkspace.SubmitReport
        do {
            report = try workspace.submitPersons(
                file: name, bytes: Array(buffer: body), period: period, unit: unit, topology: topology,
                latestPeriod: desk.now(),
                skipInvalid: skipInvalid)
        } catch {
            return problem(.unprocessableContent, "\(error)")
        }
        let delivery = report.spooled > 0 ? await desk.flushNow() : nil
        return try json(
            SubmitAnswer(
                file: name, encoding: report.encoding.rawValue, rows: report.rows,
                errors: report.errors.map { ErrorRow(line: $0.line, column: $0.column, reason: $0.chinese) },
                ignoredColumns: report.ignoredColumns, spooled: report.spooled,
                missingFromPrevious: report.missingFromPrevious,
                delivery: delivery))
    }

    private func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    private func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let body = (try? JSONEncoder().encode(["title": message])) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/problem+json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func download(_ bytes: [UInt8], type: String, name: String) -> Response {
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "ledger"
        return Response(
            status: .ok,
            headers: [
                .contentType: type,
                .contentDisposition: "attachment; filename=\"ledger-template\"; filename*=UTF-8''\(encoded)",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Refuses requests for other hosts and state changes without the page's own header.
struct LocalOnly<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let host = request.head.authority.map { $0.split(separator: ":").first.map(String.init) ?? $0 } ?? ""
        guard ["127.0.0.1", "localhost", "[::1]", ""].contains(host) else {
            return Response(status: .misdirectedRequest)
        }
        if request.method == .post,
            request.headers.first(where: { $0.name.canonicalName == "x-empmon-agent" })?.value != "1"
        {
            return Response(status: .forbidden)
        }
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }
}
