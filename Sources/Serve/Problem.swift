import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: what went wrong, for a person and for a program.
public struct Problem: Error, Sendable, Encodable {
    public let type: String
    public let title: String
    public let status: Int
    public let detail: String
    public var instance: String?

    public init(_ status: HTTPResponse.Status, _ detail: String) {
        self.status = status.code
        self.title = status.reasonPhrase
        self.detail = detail
        self.type = "https://empmon.changzhi.example/problems/\(status.code)"
    }

    static func badRequest(_ detail: String) -> Problem { Problem(.badRequest, detail) }

    func response(path: String) -> Response {
        var copy = self
        copy.instance = path
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(copy)) ?? Data("{\"status\":\(status)}".utf8)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"empmon\"" }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
