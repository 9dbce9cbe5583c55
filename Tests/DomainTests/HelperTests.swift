import Foundation
import Testing

@testable import Domain

@Suite("Shared helpers")
struct HelperTests {
    @Test("The month in China turns eight hours before UTC's")
    func chinaMonth() {
        // 2024-10-31 17:00 UTC, 01:00 on 1 November in China.
        let utcEvening = Date(timeIntervalSince1970: 1_730_394_000)
        #expect(ChinaTime.period(at: utcEvening) == Period("2024-11"))
        #expect(ChinaTime.period(at: utcEvening.addingTimeInterval(-3600 * 2)) == Period("2024-10"))
    }

    @Test("concurrentMap keeps the elements' order, over slices of any size, and passes errors on")
    func concurrentMapOrder() async throws {
        for count in [0, 1, 7, 1000, 10_001] {
            let values = Array(0..<count)
            #expect(await values.concurrentMap(minimumSlice: 3) { $0 * 2 } == values.map { $0 * 2 })
        }
        struct Odd: Error {}
        await #expect(throws: Odd.self) {
            try await Array(0..<100).concurrentMap { value throws -> Int in
                if value == 77 { throw Odd() }
                return value
            }
        }
    }

    @Test("CSV fields with commas, quotes or line breaks are quoted, their quotes doubled")
    func csvFields() {
        #expect(CSVText.field("plain") == "plain")
        #expect(
            CSVText.field("a,b") == "\"a,b\"" && CSVText.field("say \"hi\"") == "\"say \"\"hi\"\"\""
                && CSVText.field("two\r\nlines") == "\"two\r\nlines\"")
        #expect(
            CSVText.render(header: ["a", "b"], rows: [["1", "x,y"]], lineEnd: "\r\n", terminated: true)
                == "a,b\r\n1,\"x,y\"\r\n")
    }
}
