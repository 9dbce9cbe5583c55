import ArgumentParser
import CommandEdge
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `empmon bench …` runs `empmon-bench …`, built beside it: the benchmarks live in their own executable, so the
/// shipped `empmon` carries none of them.
struct BenchAlias: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks (runs empmon-bench, built beside empmon).")

    @Argument(parsing: .captureForPassthrough, help: "The bench and its options, as empmon-bench takes them.")
    var arguments: [String] = []

    func run() throws {
        let bench = Edge.sibling("empmon-bench")
        guard FileManager.default.isExecutableFile(atPath: bench) else {
            throw ValidationError("no empmon-bench beside this empmon (\(bench)): swift build --product empmon-bench")
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([bench] + arguments).map { strdup($0) } + [nil]
        execv(bench, argv)
        throw ValidationError("cannot run \(bench): \(String(cString: strerror(errno)))")
    }
}
