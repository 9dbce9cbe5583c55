import Domain
import Foundation
import Fuzzing
import TopologyFiles

// `empmon-fuzz TARGET [libFuzzer options] [corpus folders]`, or `empmon-fuzz TARGET --write-seeds FOLDER`.
//
// Built by `scripts/fuzz.sh` with coverage and AddressSanitizer and libFuzzer's library without its `main`, this hands
// TARGET's parser to libFuzzer through `LLVMFuzzerRunDriver`. In an ordinary build that function is absent, and the
// program replays the files and folders it is given instead, so that a crash found once stays a regression test.

typealias FuzzerDriver =
    @convention(c) (
        UnsafeMutablePointer<CInt>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

func usage(_ message: String) -> Never {
    FileHandle.standardError.write(
        Data(
            "empmon-fuzz: \(message)\nusage: empmon-fuzz TARGET [libFuzzer options] [corpus…]; targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n"
                .utf8))
    exit(64)
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { usage("name a target") }
guard let target = FuzzTarget(rawValue: arguments[1]) else { usage("'\(arguments[1])' is not a target") }
let topology: Topology
do {
    topology = try TopologyFiles.locate(explicit: ProcessInfo.processInfo.environment["EMPMON_TOPOLOGY"]).loadTopology()
} catch {
    usage("cannot read Topology/: \(error)")
}

// The C callback cannot capture; the harness is set once, before the driver starts.
nonisolated(unsafe) var current: (FuzzHarness, FuzzTarget)? = (FuzzHarness(topology: topology), target)

let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { data, count in
    guard let (harness, target) = current else { return 0 }
    harness.run(target, Array(UnsafeBufferPointer(start: data, count: count)))
    return 0
}

func replay(_ bytes: [UInt8]) {
    guard let (harness, target) = current else { return }
    harness.run(target, bytes)
}

if arguments.count == 4, arguments[2] == "--write-seeds", let (harness, target) = current {
    let folder = arguments[3]
    do {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (name, bytes) in harness.seeds(for: target) {
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name))
        }
    } catch {
        usage("cannot write the seeds to \(folder): \(error)")
    }
    print("\(target.rawValue): seeds written to \(folder)")
    exit(0)
}

if let program = dlopen(nil, RTLD_NOW), let symbol = dlsym(program, "LLVMFuzzerRunDriver") {
    let driver = unsafeBitCast(symbol, to: FuzzerDriver.self)
    // libFuzzer reads its options from argv; the target's name is ours, not its.
    var driverArguments = [arguments[0]] + arguments.dropFirst(2)
    var cStrings: [UnsafeMutablePointer<CChar>?] = driverArguments.map { strdup($0) } + [nil]
    var argc = CInt(driverArguments.count)
    let status = cStrings.withUnsafeMutableBufferPointer { buffer -> CInt in
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
        return driver(&argc, &argv, callback)
    }
    driverArguments.removeAll()
    exit(status)
}

var files: [String] = []
for path in arguments.dropFirst(2) where !path.hasPrefix("-") {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        usage("\(path) does not exist")
    }
    if isDirectory.boolValue {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        files += names.sorted().map { path + "/" + $0 }
    } else {
        files.append(path)
    }
}
for file in files {
    guard let data = FileManager.default.contents(atPath: file) else { usage("cannot read \(file)") }
    replay(Array(data))
}
print("\(target.rawValue): \(files.count) inputs replayed without a crash")
