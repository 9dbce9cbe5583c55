import Foundation
import Testing

/// The Python `scripts/test.sh` prepares (a venv with openpyxl, Playwright and schemathesis); a test that needs
/// one and finds none fails saying how to get it.
func testPython(with purpose: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    try #require(
        ProcessInfo.processInfo.environment["EMPMON_TEST_PYTHON"],
        "scripts/test.sh sets EMPMON_TEST_PYTHON to a Python with \(purpose)", sourceLocation: sourceLocation)
}

/// A script of `Tests/Browser`.
func browserScript(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Browser/\(name)").path
}
