import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: what went wrong, for a person and for a program. Thrown by handlers and middleware as
/// Hummingbird's `HTTPResponseError`.
package struct Problem: HTTPResponseError, Sendable, Encodable {
    package let type: String
    package let title: String
    package let status: HTTPResponse.Status
    package let detail: String
    package var instance: String?

    package init(_ status: HTTPResponse.Status, _ detail: String) {
        self.status = status
        self.title = status.reasonPhrase
        self.detail = detail
        self.type = "https://empmon.changzhi.example/problems/\(status.code)"
    }

    static func badRequest(_ detail: String) -> Problem { Problem(.badRequest, detail) }

    enum CodingKeys: String, CodingKey { case type, title, status, detail, instance }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(status.code, forKey: .status)
        try container.encode(detail, forKey: .detail)
        try container.encodeIfPresent(instance, forKey: .instance)
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        response(path: request.uri.path)
    }

    func response(path: String) -> Response {
        var copy = self
        copy.instance = path
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(copy)) ?? Data("{\"status\":\(status.code)}".utf8)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"empmon\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
