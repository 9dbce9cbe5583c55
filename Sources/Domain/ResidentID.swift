/// A Chinese resident identity number (GB 11643-1999, 18 characters) that passed its check digit.
///
/// The raw number is deliberately unprintable: `description` and `debugDescription` are masked, and the
/// type is not `Codable`, so it cannot leak into logs, files or error messages by accident. Only
/// `Pseudonymizer` reads the digits, to derive the person key.
package struct ResidentID: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    let normalized: String
    package let birthYear: Int
    package let birthMonth: Int
    package let sex: Sex

    /// Why a text is not a valid ID number. The messages never repeat the text.
    package enum Problem: Error, Sendable, Hashable {
        case wrongLength(Int)
        case invalidCharacter
        case invalidBirthDate
        case checkDigitMismatch
    }

    package init(_ text: String) throws(Problem) {
        let trimmed = text.trimmingCharacters(in: " \t")
        let characters = Array(trimmed.uppercased().utf8)
        guard characters.count == 18 else { throw .wrongLength(characters.count) }
        let body = characters[0..<17]
        guard body.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw .invalidCharacter }
        let last = characters[17]
        guard (last >= 48 && last <= 57) || last == UInt8(ascii: "X") else { throw .invalidCharacter }
        let digits = body.map { Int($0 - 48) }
        guard Self.checkCharacter(digits) == last else { throw .checkDigitMismatch }
        let year = digits[6..<10].reduce(0) { $0 * 10 + $1 }
        let month = digits[10] * 10 + digits[11]
        let day = digits[12] * 10 + digits[13]
        let daysInMonth = [
            31, (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
        ]
        guard (1900...2100).contains(year), (1...12).contains(month), (1...daysInMonth[month - 1]).contains(day) else {
            throw .invalidBirthDate
        }
        normalized = String(decoding: characters, as: UTF8.self)
        birthYear = year
        birthMonth = month
        // The 17th digit (sequence code) is odd for men, even for women.
        sex = digits[16] % 2 == 1 ? .male : .female
    }

    /// The full 18-character number for 17 leading digits (GB 11643 check character appended), or nil
    /// if `body` is not 17 ASCII digits. For making test and simulated numbers.
    package static func appendingCheckCharacter(to body: String) -> String? {
        let bytes = Array(body.utf8)
        guard bytes.count == 17, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return body + String(UnicodeScalar(checkCharacter(bytes.map { Int($0 - 48) })))
    }

    private static func checkCharacter(_ digits: [Int]) -> UInt8 {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return Array("10X98765432".utf8)[sum % 11]
    }

    package var description: String { "ResidentID(••••••••••••••••••)" }
    package var debugDescription: String { description }
}

extension ResidentID.Problem: CustomStringConvertible {
    package var description: String { reason.english }

    package var reason: (chinese: String, english: String) {
        switch self {
        case .wrongLength(let count):
            ("身份证号应为18位，实际为\(count)位", "an ID number has 18 characters, this one has \(count)")
        case .invalidCharacter: ("身份证号只能是数字，末位可为X", "an ID number is 17 digits and a final digit or X")
        case .invalidBirthDate: ("身份证号中的出生日期无效", "the birth date inside the ID number is not a real date")
        case .checkDigitMismatch:
            ("身份证号校验位不符，可能有输错的数字", "the ID number's check digit does not match; a digit is probably mistyped")
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var text = Substring(self)
        while let first = text.first, characters.contains(first) { text = text.dropFirst() }
        while let last = text.last, characters.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
