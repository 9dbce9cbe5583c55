import HTTPTypes
import Hummingbird

/// Answers a request for a known path with a method it does not take (`TRACE /health`, `POST /api/v1/situation`)
/// with 405 and an `Allow` header, as HTTP asks, instead of the router's 404. Every route of the API is read-only.
struct MethodNotAllowed<Context: RequestContext>: RouterMiddleware {
    /// Route patterns (`/api/v1/units/{code}/series`); a `{…}` segment matches any one segment.
    let patterns: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            let response = try await next(request, context)
            guard response.status == .notFound, isUnmatched(context) else { return response }
            return methodNotAllowed(request) ?? response
        } catch let error as any HTTPResponseError where error.status == .notFound && isUnmatched(context) {
            guard let answer = methodNotAllowed(request) else { throw error }
            return answer
        }
    }

    private func isUnmatched(_ context: Context) -> Bool {
        context.endpointPath == nil || context.endpointPath == "NotFound"
    }

    private func methodNotAllowed(_ request: Request) -> Response? {
        guard request.method != .get, request.method != .head, matches(request.uri.path) else { return nil }
        var response = Problem(
            .methodNotAllowed, "\(request.uri.path) answers GET and HEAD only, not \(request.method.rawValue)"
        )
        .response(path: request.uri.path)
        response.headers[.allow] = "GET, HEAD"
        return response
    }

    func matches(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return patterns.contains { pattern in
            let parts = pattern.split(separator: "/", omittingEmptySubsequences: true)
            return parts.count == segments.count
                && zip(parts, segments).allSatisfy { part, segment in
                    part.hasPrefix("{") && part.hasSuffix("}") || part == segment
                }
        }
    }
}
