import Foundation
import ZIPFoundation

/// A guard in front of ZIPFoundation. On Linux its inflate loop reads until the deflate stream ends, and at the end of
/// the file it reads nothing for ever: a compressed part whose stream is cut short or damaged hangs the reader (found
/// by the ledger fuzz target in CI: Fuzz/regressions/ledger/deflate-never-ends, a 2.8 KB file). So before the
/// library extracts anything, every deflated part is inflated here once, with a provider that stops at the end of
/// the part's own bytes, and a workbook whose streams do not all end there is refused as damaged.
///
/// Only the archive's own directory is read (the end record, the central directory, each local header), with every
/// offset checked against the file; the inflating is ZIPFoundation's.
enum WorkbookStreams {
    struct Damaged: Error {}

    static let bufferSize = 16_384

    static func checkEveryStreamEnds(_ bytes: [UInt8], partLimit: Int) throws(LedgerFileError) {
        do {
            for part in try compressedParts(bytes) {
                // ZIPFoundation's Linux inflate takes every chunk as a full buffer, so a short last chunk is padded.
                // A stream that ends only thanks to the padding would also have to end under the other padding.
                for padding: UInt8 in [0x00, 0xFF] {
                    var produced = 0
                    var position = part.lowerBound
                    _ = try Data.decompress(
                        size: Int64(part.count), bufferSize: bufferSize, skipCRC32: true,
                        provider: { _, size in
                            guard position < part.upperBound else { throw Damaged() }
                            let end = min(part.upperBound, position + size)
                            var chunk = Data(repeating: padding, count: size)
                            chunk.replaceSubrange(0..<(end - position), with: bytes[position..<end])
                            position = end
                            return chunk
                        },
                        consumer: { data in
                            produced += data.count
                            if produced > partLimit { throw Damaged() }
                        })
                }
            }
        } catch {
            throw LedgerFileError(
                chinese: "无法读取xlsx工作簿（文件损坏：压缩数据不完整）",
                english: "cannot read the xlsx workbook: it is damaged (a compressed part is cut short)")
        }
    }

    /// The byte ranges of the deflated parts, from the central directory and the local headers.
    static func compressedParts(_ bytes: [UInt8]) throws -> [Range<Int>] {
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at + 2 <= bytes.count else { throw Damaged() }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) throws -> Int { try u16(at) | (try u16(at + 2)) << 16 }
        var end = -1
        for candidate in stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 65_535), by: -1)
        where try u32(candidate) == 0x0605_4B50 {
            end = candidate
            break
        }
        guard end >= 0 else { throw Damaged() }
        let count = try u16(end + 10)
        var entry = try u32(end + 16)
        var parts: [Range<Int>] = []
        for _ in 0..<count {
            guard try u32(entry) == 0x0201_4B50 else { throw Damaged() }
            let method = try u16(entry + 10)
            let compressed = try u32(entry + 20)
            let local = try u32(entry + 42)
            entry += 46 + (try u16(entry + 28)) + (try u16(entry + 30)) + (try u16(entry + 32))
            guard try u32(local) == 0x0403_4B50 else { throw Damaged() }
            let start = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard compressed != 0xFFFF_FFFF, start + compressed <= bytes.count else { throw Damaged() }
            if method == 8 { parts.append(start..<(start + compressed)) }
        }
        return parts
    }
}
