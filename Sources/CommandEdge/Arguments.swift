import Analysis
import ArgumentParser
import Domain
import Foundation
import Processor

// Arguments and files the commands of both executables read and write, with errors naming what is wrong.

/// A unit given by code or by exact name; names that repeat must be given by code.
package func resolveUnit(_ text: String?, in topology: Topology) throws -> Division {
    guard let text else { return topology.city }
    if let code = DivisionCode(text) {
        guard let division = topology[code] else { throw ValidationError("no unit \(code) in \(topology.city.name)") }
        return division
    }
    let matches = topology.units(named: text)
    switch matches.count {
    case 1: return matches[0]
    case 0: throw ValidationError("no unit named '\(text)'; give a 12-digit code or an exact name")
    default:
        throw ValidationError(
            "'\(text)' names \(matches.count) units; give one of their codes: "
                + matches.map { "\($0.code) (\($0.code.ancestor(at: .county).flatMap { topology[$0]?.name } ?? ""))" }
                .joined(separator: ", "))
    }
}

package func readSeriesTable(_ path: String, indicator: String? = nil, missingAsZero: Bool = false) throws
    -> SeriesTable
{
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
    do {
        return try SeriesTable(
            csv: String(decoding: data, as: UTF8.self), indicator: indicator, missingAsZero: missingAsZero)
    } catch {
        throw ValidationError("\(path):\n\(error.description)")
    }
}

package func writeOutput(_ text: String, to path: String?) throws {
    guard let path else {
        print(text, terminator: "")
        return
    }
    do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch {
        throw ValidationError("cannot write \(path): \(error.localizedDescription)")
    }
}

/// `--batch-size` of `process` and of the benches that run the processor.
package func validateBatchSize(_ batchSize: Int) throws {
    guard (1...ProcessorConfiguration.largestBatchSize).contains(batchSize) else {
        throw ValidationError("--batch-size must be 1 to \(ProcessorConfiguration.largestBatchSize)")
    }
}
