import Foundation
import Testing

/// Part of the serialized suite of tests that share the test stack (some take its brokers down).
extension SharedStackTests {
    @Test(
        "enroll writes owner-only credentials with a one-time code and no signing secret; list shows the agent; revoke stops it once"
    )
    func enrollListRevoke() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "empmon-agent-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("agent.json").path

        let enroll = try empmon(["agent", "enroll", "--unit", "140403001001", "--out", path])
        #expect(enroll.status == 0, "\(enroll.output)")
        #expect(enroll.output.contains("和平社区居委会"))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let object =
            try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let agentID = try #require(object?["agentID"] as? String)
        #expect(object?["unit"] as? String == "140403001001")
        #expect(object?["secret"] == nil)
        let code = try #require(object?["enrolmentCode"] as? String)
        #expect(code.count == 23 && enroll.output.contains(code))
        #expect((Data(base64Encoded: object?["cityKey"] as? String ?? "")?.count ?? 0) == 32)
        #expect((object?["kafkaBootstrap"] as? String)?.contains("127.0.0.1") == true)

        // A second agent gets its own code but the same city key.
        let second = directory.appendingPathComponent("second.json").path
        #expect(try empmon(["agent", "enroll", "--unit", "潞州区", "--out", second]).status == 0)
        let other =
            try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: second))) as? [String: Any]
        #expect(other?["cityKey"] as? String == object?["cityKey"] as? String)
        #expect(other?["enrolmentCode"] as? String != code)

        let list = try empmon(["agent", "list"])
        #expect(
            list.output.contains("\(agentID)  140403001001") && list.output.contains("active")
                && list.output.contains("awaiting its first key"))
        let revoke = try empmon(["agent", "revoke", agentID])
        #expect(revoke.status == 0, "\(revoke.output)")
        let listed = try empmon(["agent", "list"]).output.split(separator: "\n").first { $0.hasPrefix(agentID) }
        #expect(listed?.contains("revoked") == true)
        let again = try empmon(["agent", "revoke", agentID])
        #expect(again.status != 0 && again.output.contains("no active agent"))

        let unknown = try empmon(["agent", "enroll", "--unit", "140403999999", "--out", path + ".x"])
        #expect(unknown.status != 0 && unknown.output.contains("no unit 140403999999"))
        #expect(!FileManager.default.fileExists(atPath: path + ".x"))
    }
}
