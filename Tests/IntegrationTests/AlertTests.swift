import Alerting
import DevStack
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Logging
import Postgres
import Serve
import Situation
import Storage
import TestSupport
import Testing

/// Stored indicators written straight into `unit_month_counts` (the processor's output table) of a fresh
/// database, then the real engine, the real alerts topic on the mock cluster and a real HTTP receiver.
struct AlertFixture {
    let database: TestDatabase
    let client: PostgresClient
    let topology: Topology
    let kafkaBootstrap: String

    static func make() async throws -> AlertFixture {
        let database = try await TestDatabase.create()
        let connection = try await database.connect()
        _ = try await Schema.migrator().migrate(connection)
        let settings = try #require(try DevHome.resolve(nil).loadSettings(), "run through scripts/test.sh")
        let topology = try Topology(
            csv: String(decoding: try #require(FileManager.default.contents(atPath: topologyPath())), as: UTF8.self))
        return AlertFixture(
            database: database, client: try PostgresClient(url: database.url, maxConnections: 2), topology: topology,
            kafkaBootstrap: settings.kafkaBootstrap)
    }

    static func topologyPath() -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Topology/changzhi-divisions.csv").path
    }

    /// Writes one unit-month (replacing it, as a revision does).
    func put(_ unit: String, _ period: String, _ counts: [String: Int64]) async throws {
        let columns = counts.keys.sorted()
        let values = columns.map { String(counts[$0] ?? 0) }
        try await client.withConnection { connection in
            try await connection.query(
                "INSERT INTO monitored_periods (period) VALUES ($1::date) ON CONFLICT DO NOTHING", ["\(period)-01"])
            try await connection.query(
                """
                INSERT INTO unit_month_counts (period, unit_code, \(columns.joined(separator: ", "))) VALUES ($1::date, $2, \(values.joined(separator: ", ")))
                ON CONFLICT (period, unit_code) DO UPDATE SET \(columns.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")), updated_at = now()
                """, ["\(period)-01", unit])
        }
    }

    func engine(_ yaml: String, targets: UnitTargets? = nil) throws -> AlertEngine {
        var logger = Logger(label: "test.alerts")
        logger.logLevel = .warning
        return AlertEngine(
            database: client, topology: topology, configuration: try AlertConfiguration.parse(yaml), targets: targets,
            logger: logger)
    }

    func dispatcher() -> AlertDispatcher {
        var logger = Logger(label: "test.alerts")
        logger.logLevel = .critical
        return AlertDispatcher(
            database: client, kafka: KafkaEndpoint(bootstrapServers: kafkaBootstrap, security: .plaintext),
            logger: logger)
    }

    /// The state of the rule's open or latest alert for the unit ("none" when there is none).
    func state(_ rule: String, _ unit: String) async throws -> String {
        try await client.withConnection { connection in
            try await connection.query(
                "SELECT state FROM alerts WHERE rule_id = $1 AND unit_code = $2 ORDER BY id DESC LIMIT 1", [rule, unit]
            )
            .first.map { try $0.decode(String.self, at: 0) } ?? "none"
        }
    }

    func alertCount(_ rule: String) async throws -> Int {
        try await client.withConnection { connection in
            try await connection.query("SELECT count(*) FROM alerts WHERE rule_id = $1", [rule]).first.map {
                try $0.decode(Int.self, at: 0)
            } ?? 0
        }
    }

    func close() async { await database.drop() }

    /// A fresh fixture for `body`, its database dropped however `body` ends.
    static func with(_ body: (AlertFixture) async throws -> Void) async throws {
        try await withCleanUp(try await make(), cleanUp: { await $0.close() }, body)
    }
}

/// A webhook receiver that refuses the first delivery of every event (503), then records each accepted one.
actor WebhookReceiver {
    private(set) var accepted: [(key: String, body: String)] = []
    private var refused: Set<String> = []

    func receive(key: String, body: String) -> HTTPResponse.Status {
        if !refused.contains(key) {
            refused.insert(key)
            return .serviceUnavailable
        }
        accepted.append((key, body))
        return .ok
    }
}

func withWebhookReceiver(_ body: (String, WebhookReceiver) async throws -> Void) async throws {
    let receiver = WebhookReceiver()
    let router = Router()
    router.post("/hook") { request, context -> Response in
        let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let status = await receiver.receive(key: key, body: String(buffer: buffer))
        return Response(status: status)
    }
    try await withTestServer(router) { base in try await body(base + "/hook", receiver) }
}

/// Runs a Hummingbird router on a free loopback port while `body` runs; `body` gets the base address.
func withTestServer<Context: RequestContext>(
    _ router: Router<Context>, _ body: (String) async throws -> Void
) async throws where Context.Source == ApplicationRequestContextSource {
    var logger = Logger(label: "test.server")
    logger.logLevel = .critical
    try await withLoopbackServer(router, logger: logger) { port in try await body("http://127.0.0.1:\(port)") }
}

let county = "140403000000"
let village = "140403001001"

@Suite(.serialized) struct AlertRuleTests {
    func placement(_ percent: Int64) -> [String: Int64] {
        ["reemployed": percent, "unemployed_last_month": 100, "reporting_units": 1, "expected_units": 1]
    }

    @Test func thresholdFiresHoldsResolvesWithHysteresisAndNotifiesOnce() async throws {
        try await AlertFixture.with { fixture in
            let rule = "low-\(UUID().uuidString.prefix(8).lowercased())"
            try await withWebhookReceiver { url, receiver in
                let engine = try fixture.engine(
                    """
                    rules:
                      - id: \(rule)
                        kind: threshold
                        indicator: placement_rate
                        tiers: [county]
                        below: 0.05
                        resolve_above: 0.08
                        for_periods: 2
                        severity: warning
                    webhooks:
                      - url: \(url)
                    """)
                // Each month's expected state after it arrives: 10% clear, 3% and 2% below the line (pending, then firing),
                // 6% inside the hysteresis band (still firing), 4% below, 9% above the resolve line (resolved).
                let months: [(String, Int64, String)] = [
                    ("2024-01", 10, "none"), ("2024-02", 3, "pending"), ("2024-03", 2, "firing"),
                    ("2024-04", 6, "firing"),
                    ("2024-05", 4, "firing"), ("2024-06", 9, "resolved"), ("2024-07", 10, "resolved"),
                ]
                for (period, percent, expected) in months {
                    try await fixture.put(county, period, placement(percent))
                    for _ in 0..<2 {  // evaluating twice changes nothing and notifies nobody again
                        _ = try await engine.evaluate()
                        #expect(try await fixture.state(rule, county) == expected, "after \(period)")
                    }
                    _ = try await fixture.dispatcher().deliver(patience: .seconds(10))
                }
                #expect(try await fixture.alertCount(rule) == 1)
                // A revision of June and July (both 3%) re-evaluates: a new episode fires.
                try await fixture.put(county, "2024-06", placement(3))
                try await fixture.put(county, "2024-07", placement(3))
                let summary = try await engine.evaluate()
                #expect(summary.fired == 1)
                #expect(try await fixture.state(rule, county) == "firing")
                #expect(try await fixture.alertCount(rule) == 2)
                let delivery = try await fixture.dispatcher().deliver(patience: .seconds(10))
                #expect(delivery.waiting == 0)

                // The receiver refused each first attempt; every event arrived once after the retry: fired, resolved, fired.
                let accepted = await receiver.accepted
                #expect(accepted.count == 3)
                #expect(Set(accepted.map(\.key)).count == 3)
                let events = accepted.compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: String]
                }
                #expect(events.map { $0["event"] ?? "" } == ["firing", "resolved", "firing"])
                #expect(events.allSatisfy { $0["rule"] == rule && $0["unit"] == county && $0["unit_name"] == "潞州区" })

                // The same three events are on the alerts topic.
                let published = try await readAlertsTopic(bootstrap: fixture.kafkaBootstrap, rule: rule, expecting: 3)
                #expect(published.map { $0["event"] ?? "" } == ["firing", "resolved", "firing"])
            }
        }
    }

    @Test func dropAgainstTrailingMeanFiresAndResolves() async throws {
        try await AlertFixture.with { fixture in
            let engine = try fixture.engine(
                """
                rules:
                  - id: falling
                    kind: drop
                    indicator: placement_rate
                    tiers: [county]
                    trailing_months: 3
                    drop: 0.3
                    resolve_drop: 0.15
                    for_periods: 2
                    severity: warning
                """)
            // Trailing means: 10, 8.67, 7 → lines 7, 6.07; resolve at 85% of the mean.
            let months: [(String, Int64, String)] = [
                ("2024-01", 10, "none"), ("2024-02", 10, "none"), ("2024-03", 10, "none"), ("2024-04", 6, "pending"),
                ("2024-05", 5, "firing"), ("2024-06", 9, "resolved"),
            ]
            for (period, percent, expected) in months {
                try await fixture.put(county, period, placement(percent))
                _ = try await engine.evaluate()
                #expect(try await fixture.state("falling", county) == expected, "after \(period)")
            }
        }
    }

    @Test func targetAtRiskFiresWhenTheYearFallsBehindAndResolvesWhenItCatchesUp() async throws {
        try await AlertFixture.with { fixture in
            let city = "140400000000"
            let targets = UnitTargets(
                year: 2024, city: try #require(DivisionCode(city)), targets: ["new_urban_employment": 1_000])
            let engine = try fixture.engine(
                """
                rules:
                  - id: at-risk
                    kind: target_at_risk
                    indicator: new_urban_employment
                    tiers: [city]
                    probability_below: 0.5
                    resolve_above: 0.6
                    for_periods: 2
                    severity: warning
                """, targets: targets)
            func month(_ value: Int64) -> [String: Int64] {
                ["new_urban_employment": value, "labour_force": 10_000, "reporting_units": 10, "expected_units": 10]
            }
            // 100 a month is on track for 1,000; a collapse to 5 a month puts the year at risk; two big months reach it.
            let months: [(String, Int64, String)] = [
                ("2024-01", 100, "none"), ("2024-02", 100, "none"), ("2024-03", 100, "none"), ("2024-04", 100, "none"),
                ("2024-05", 5, "pending"), ("2024-06", 5, "firing"), ("2024-07", 5, "firing"),
                ("2024-08", 300, "resolved"),
            ]
            for (period, value, expected) in months {
                try await fixture.put(city, period, month(value))
                _ = try await engine.evaluate()
                #expect(try await fixture.state("at-risk", city) == expected, "after \(period)")
            }
        }
    }

    @Test func missingReportsFireAfterTheDeadlineOnly() async throws {
        try await AlertFixture.with { fixture in
            let engine = try fixture.engine(
                """
                rules:
                  - id: missing
                    kind: missing_reports
                    tiers: [village]
                    day: 10
                    for_periods: 2
                    severity: info
                """)
            try await fixture.put(village, "2024-01", ["reporting_units": 1, "expected_units": 1])
            try await fixture.put(village, "2024-02", ["expected_units": 1])
            try await fixture.put(village, "2024-03", ["expected_units": 1])
            // The rest of the city reported January to March; April so far holds only what March carries into it.
            for month in ["2024-01", "2024-02", "2024-03"] {
                try await fixture.put("140400000000", month, ["reporting_units": 2000, "expected_units": 2628])
            }
            try await fixture.put("140400000000", "2024-04", ["expected_units": 2628])
            try await fixture.put(village, "2024-04", ["expected_units": 1])
            func at(_ text: String) throws -> Date { try #require(ISO8601DateFormatter().date(from: text)) }
            // February is due on 10 March (China time): on 5 April only February has passed its deadline.
            _ = try await engine.evaluate(now: try at("2024-04-05T00:00:00+08:00"))
            #expect(try await fixture.state("missing", village) == "pending")
            _ = try await engine.evaluate(now: try at("2024-04-11T00:00:01+08:00"))
            #expect(try await fixture.state("missing", village) == "firing")
            // March arrives late, then April on time.
            try await fixture.put(village, "2024-03", ["reporting_units": 1, "expected_units": 1])
            _ = try await engine.evaluate(now: try at("2024-04-12T00:00:00+08:00"))
            #expect(try await fixture.state("missing", village) == "resolved")
            // April's deadline passes, but nobody has reported April yet: it is not open, nothing is missing from it.
            _ = try await engine.evaluate(now: try at("2024-05-20T00:00:00+08:00"))
            #expect(try await fixture.state("missing", village) == "resolved")
            #expect(try await fixture.alertCount("missing") == 1)
        }
    }

    @Test func badRulesAreNamed() {
        #expect(throws: AlertConfiguration.Problem.self) {
            try AlertConfiguration.parse(
                "rules:\n  - id: x\n    kind: threshold\n    indicator: nonsense\n    tiers: [county]\n    below: 1\n    severity: info\n"
            )
        }
        do {
            _ = try AlertConfiguration.parse(
                "rules:\n  - id: y\n    kind: drop\n    indicator: placement_rate\n    tiers: [county]\n    severity: info\n"
            )
            Issue.record("a drop rule without parameters was accepted")
        } catch {
            #expect(error.description.contains("rule 'y'") && error.description.contains("trailing_months"))
        }
    }

    @Test func theShippedRulesLoadAndWatchPlacementRates() throws {
        let path = URL(fileURLWithPath: AlertFixture.topologyPath()).deletingLastPathComponent().appendingPathComponent(
            "alerts.yaml"
        ).path
        let configuration = try AlertConfiguration.parse(String(contentsOfFile: path, encoding: .utf8), source: path)
        let placement = configuration.rules.filter { $0.indicator == "placement_rate" && $0.kind == .drop }
        #expect(Set(placement.flatMap(\.tiers)).isSuperset(of: [.county, .township]))
        #expect(Set(configuration.rules.map(\.kind)) == Set(AlertRule.Kind.allCases))
    }
}

/// Alert events of one rule on the alerts topic, read from the beginning.
func readAlertsTopic(bootstrap: String, rule: String, expecting count: Int) async throws -> [[String: String]] {
    var logger = Logger(label: "test.alerts.consumer")
    logger.logLevel = .critical
    let consumer = try KafkaConsumer(
        configuration: KafkaConsumerConfiguration(
            bootstrapServers: bootstrap, groupID: "alerts-check-\(UUID().uuidString)"), logger: logger)
    try await consumer.assign(
        Dictionary(
            uniqueKeysWithValues: (0..<3).map {
                (KafkaTopicPartition(topic: "empmon.alerts.v1", partition: $0), KafkaOffset.beginning)
            }))
    var found: [[String: String]] = []
    let deadline = ContinuousClock.now + .seconds(30)
    while found.count < count, ContinuousClock.now < deadline {
        for message in try await consumer.poll(maxMessages: 500, timeout: .milliseconds(500)).messages {
            guard let event = try? JSONSerialization.jsonObject(with: Data(message.value)) as? [String: String],
                event["rule"] == rule
            else { continue }
            found.append(event)
        }
    }
    try? await consumer.close()
    return found
}
