import Alerting
import Analysis
import Domain
import Foundation
import Kafka
import Ledger
import Processor
import Serve
import Storage
import Wire

/// The parsers of outside input, each driven by arbitrary bytes: what `empmon-fuzz` hands to libFuzzer, and what the
/// regression test replays from `Fuzz/`. A target passes an input when it returns; a crash, a trap or a sanitizer
/// report is the failure. Errors are answers, not failures: every parser here must refuse bad input with one.
package enum FuzzTarget: String, CaseIterable, Sendable {
    /// A clerk's ledger file: CSV in UTF-8 or GBK, JSON lines or xlsx, as persons and as station activity.
    case ledger
    /// A Kafka message on a record topic with arbitrary headers, through the city's checks.
    case intake
    /// `Topology/alerts.yaml` as an operator might edit it.
    case alertRules = "alert-rules"
    /// The forecast and backtest commands' CSV of series.
    case seriesCSV = "series-csv"
    /// `empmon forecast --model`.
    case etsModel = "ets-model"
    /// The HTTP API's query string and unit path segment.
    case apiQuery = "api-query"
}

/// What the targets need that a fuzzer does not make: the city's divisions and its enrolled agents.
package struct FuzzHarness: Sendable {
    let topology: Topology
    let agents: [String: RegisteredAgent]
    /// The secret of the fuzzing agents, so that the intake target can re-sign what it decodes and reach the checks
    /// behind the signature.
    static let secret = Array("fuzzing-agent-secret-0123456789ab".utf8)
    /// The city agent's Ed25519 key: fixed, so that seeds sealed with it stay valid from run to run.
    static let signingKey = (try? AgentSigningKey(privateKey: Array(repeating: 42, count: 32))) ?? AgentSigningKey()

    package init(topology: Topology) {
        self.topology = topology
        let county = topology.children(of: topology.city.code).first?.code ?? topology.city.code
        let created = "2024-01-01T00:00:00Z"
        self.agents = [
            "fuzz-city": RegisteredAgent(
                agentID: "fuzz-city", unit: topology.city.code, name: "city",
                keys: [.init(publicKey: Self.signingKey.publicKey, retiresAtMilliseconds: nil)],
                legacySecret: Self.secret, createdAt: created, revokedAt: nil),
            "fuzz-county": RegisteredAgent(
                agentID: "fuzz-county", unit: county, name: "county", legacySecret: Self.secret,
                enrolmentCodeSHA256: EnrolmentCode.digest("FUZZ0-FUZZ0-FUZZ0-FUZZ0"),
                enrolmentExpiresAtMilliseconds: .max, createdAt: created, revokedAt: nil),
            "fuzz-revoked": RegisteredAgent(
                agentID: "fuzz-revoked", unit: topology.city.code, name: "revoked", legacySecret: Self.secret,
                createdAt: created, revokedAt: "2024-02-01T00:00:00Z", revokedAtMilliseconds: 1_706_745_600_000),
        ]
    }

    package func run(_ target: FuzzTarget, _ bytes: [UInt8]) {
        switch target {
        case .ledger: ledger(bytes)
        case .intake: intake(bytes)
        case .alertRules: _ = try? AlertConfiguration.parse(String(decoding: bytes, as: UTF8.self), source: "fuzz.yaml")
        case .seriesCSV: seriesCSV(bytes)
        case .etsModel: _ = ETSSpec(String(decoding: bytes, as: UTF8.self)).map(\.description)
        case .apiQuery: apiQuery(bytes)
        }
    }

    /// The first byte picks the format the file is read as; the rest is the file.
    func ledger(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let formats: [LedgerFormat] = [.csv, .jsonLines, .xlsx]
        let format = formats[Int(input.byte()) % formats.count]
        let file = input.rest()
        if let ledger = try? PersonLedger.read(file, format: format) {
            let village = topology.expectedReportingUnits(under: topology.city.code).first?.code ?? topology.city.code
            let builder = SubmissionBuilder(
                unit: village, period: Self.period, agentID: "fuzz-city",
                pseudonymizer: Pseudonymizer(cityKey: Self.secret),
                signer: .ed25519(Self.signingKey, agentID: "fuzz-city"),
                validator: RecordValidator(topology: topology, latestPeriod: Self.period))
            _ = builder.build(ledger, reportedAtMilliseconds: 1_730_000_000_000)
        }
        _ = try? ActivityLedger.read(file, format: format)
    }

    /// The month every target's records are for, and the latest month the validator allows.
    static let period = Period(year: 2024, month: 10) ?? .earliest

    /// A message: the topic, up to four headers (chosen keys or arbitrary ones, arbitrary values), a key and the
    /// value. When the value decodes, a flag re-signs it with an enrolled agent's secret, so that the validation
    /// behind the signature check is reached too.
    func intake(_ bytes: [UInt8]) { _ = examine(bytes) }

    /// The intake target's verdict on an input, for the test that checks the seeds reach past the checks.
    package func examine(_ bytes: [UInt8]) -> Intake {
        var input = FuzzInput(bytes)
        let topics = [WireTopics.personStatus, WireTopics.unitActivity, WireTopics.deadLetter]
        let topic = topics[Int(input.byte()) % topics.count]
        let flags = input.byte()
        var headers: [KafkaHeader] = []
        for _ in 0..<(flags & 0x3) {
            let known = ["empmon.kind", "empmon.agent", "empmon.record"]
            let choice = Int(input.byte()) % (known.count + 1)
            let key = choice < known.count ? known[choice] : String(decoding: input.chunk(), as: UTF8.self)
            headers.append(KafkaHeader(key: key, value: input.byte() & 1 == 0 ? nil : input.chunk()))
        }
        let key = input.chunk()
        var value = input.rest()
        if flags & 0x4 != 0 {
            let signer: AgentSigner =
                flags & 0x8 == 0
                ? .hmac(RecordSigner(secret: Self.secret)) : .ed25519(Self.signingKey, agentID: "fuzz-city")
            value = resigned(value, topic: topic, signer: signer) ?? value
        }
        let message = KafkaMessage(
            topic: topic, partition: 0, offset: 0, key: key, value: value, headers: headers, timestampMilliseconds: nil)
        let intake = RecordIntake(topology: topology, agents: agents, now: Date(timeIntervalSince1970: 1_735_660_800))
        return intake.examine(message)
    }

    private func resigned(_ value: [UInt8], topic: String, signer: AgentSigner) -> [UInt8]? {
        if topic == WireTopics.personStatus, let record = try? Wire.decodePersonStatus(value) {
            var records = [record]
            signer.sign(&records)
            return try? Wire.encode(records[0])
        }
        if topic == WireTopics.unitActivity, var report = try? Wire.decodeUnitActivity(value) {
            signer.sign(&report)
            return try? Wire.encode(report)
        }
        if var manifest = try? Wire.decodeManifest(value) {
            signer.sign(&manifest)
            return try? Wire.encode(manifest)
        }
        return nil
    }

    func seriesCSV(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let flags = input.byte()
        let text = String(decoding: input.rest(), as: UTF8.self)
        guard
            let table = try? SeriesTable(
                csv: text, indicator: flags & 1 == 0 ? nil : "employed", missingAsZero: flags & 2 != 0)
        else { return }
        _ = try? table.completedHierarchy()
    }

    /// The query string, then (after a newline) the unit segment of `/units/{code}/…`, parsed with a city token
    /// and with a county viewer's.
    func apiQuery(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let query = APIQuery(target: "/api/v1/situation?" + (parts.first.map(String.init) ?? ""))
        let code = parts.count > 1 ? String(parts[1]) : ""
        let county = topology.children(of: topology.city.code).first?.code ?? topology.city.code
        for access in [
            APIAccess(tokenID: 1, scope: topology.city.code, role: .analyst),
            APIAccess(tokenID: 2, scope: county, role: .viewer),
        ] {
            _ = try? query.period()
            _ = try? query.period("from")
            _ = try? query.tier(default: .county)
            _ = try? query.indicator(default: .employed)
            _ = try? query.asOf()
            _ = try? query.limit(default: 10, most: 10_000)
            _ = try? query.alertState()
            _ = try? query.format()
            if let tier = try? query.tier() { _ = try? query.scope(tier: tier, access: access, topology: topology) }
            _ = try? query.unit("unit", access: access, topology: topology)
            _ = try? APIQuery.unit(code, access: access, topology: topology)
        }
    }
}

/// Reads a fuzzer's bytes as a sequence of choices; past the end every read gives zeros or nothing, never a trap.
struct FuzzInput {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A length byte, then that many bytes (fewer at the end).
    mutating func chunk() -> [UInt8] {
        let length = Int(byte())
        let end = min(bytes.count, position + length)
        defer { position = end }
        return Array(bytes[position..<end])
    }

    mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return Array(bytes[min(position, bytes.count)...])
    }
}
