import HTTPTypes
import Hummingbird

/// Headers every answer carries: browsers must not guess content types or frame the dashboard, and what a
/// token read must not stay in shared caches (the open data and the API's own description may).
struct ResponseHeaders<Context: RequestContext>: RouterMiddleware {
    static var dashboardPolicy: String {
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        let path = request.uri.path
        if path == "/" {
            response.headers[.contentSecurityPolicy] = Self.dashboardPolicy
            response.headers[.cacheControl] = "no-cache"
        } else if path.hasPrefix("/api/v1/open-data/") || path == "/api/v1/openapi.json" {
            response.headers[.cacheControl] = "public, max-age=300"
        } else if path.hasPrefix("/api/") {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}
