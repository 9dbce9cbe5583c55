import Domain
import Foundation
import TopologyFiles

/// The project's own topology and hand-made records, for the test targets.
package enum Fixtures {
    /// The real Changzhi topology from the project's Topology/ folder.
    package static let topology: Topology = {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Topology").path
        do {
            return try TopologyFiles(directory: directory).loadTopology()
        } catch {
            preconditionFailure("the project's own Topology/ must load: \(error)")
        }
    }()

    package static let topologyDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Topology").path

    /// A valid 18-character ID number for the given 17 leading digits (GB 11643 check digit appended).
    package static func residentID(_ body: String) -> String {
        ResidentID.appendingCheckCharacter(to: body) ?? body
    }

    package static let village = DivisionCode("140403001001")!  // 和平社区居委会, 潞州区
    package static let township = DivisionCode("140403001000")!
    package static let key = String(repeating: "ab", count: 32)

    package static func person(
        status: EmploymentStatus = .employed, form: EmploymentForm? = .employee, location: WorkLocation? = .local,
        sector: Sector? = .c, unit: DivisionCode = village, period: Period = Period("2024-10")!
    ) -> PersonStatusRecord {
        PersonStatusRecord(
            recordID: RecordID("1b4e28ba-2fa1-4d2c-883f-0016d3cca427")!, unit: unit, period: period, personKey: key,
            householdKey: String(repeating: "cd", count: 32), birthYear: 1990, sex: .female, status: status,
            employmentForm: form, workLocation: location, sector: sector, groups: [.ruralLabour, .collegeGraduate],
            incomeBand: status == .employed ? .from4000To5999 : nil, reportedAtMilliseconds: 1_730_000_000_000,
            agentID: "agent-140403001001")
    }

    package static func activity(
        counters: [UnitActivityReport.Counter: Int64] = [.jobsCollected: 120, .recruitmentEvents: 2]
    )
        -> UnitActivityReport
    {
        UnitActivityReport(
            recordID: RecordID("7c9e6679-7425-40de-944b-e07fc1f90ae7")!, unit: township, period: Period("2024-10")!,
            counters: counters, reportedAtMilliseconds: 1_730_000_000_000, agentID: "agent-140403001000")
    }
}
