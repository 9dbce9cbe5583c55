import Hummingbird
import Logging
import Situation

/// Every request's context: who is asking, once `TokenAuthentication` has looked (nil on open routes).
package struct APIRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    var access: APIAccess?

    package init(source: Source) {
        coreContext = .init(source: source)
        access = nil
    }
}

/// The context of a route that reads with a token. Its access is not optional: the context cannot be made
/// without one, so a route that forgot its authentication answers 401 instead of serving the whole city.
package struct AuthenticatedContext: ChildRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let access: APIAccess

    package init(context: APIRequestContext) throws {
        guard let access = context.access else {
            throw Problem(.unauthorized, "send a bearer token: Authorization: Bearer emt_…")
        }
        self.coreContext = context.coreContext
        self.access = access
    }
}

/// Looks the bearer token up and puts its access in the context, or answers 401.
struct TokenAuthentication: RouterMiddleware {
    let tokens: APITokens

    func handle(
        _ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw Problem(.unauthorized, "send a bearer token: Authorization: Bearer emt_…")
        }
        guard let granted = try await tokens.access(for: String(header.dropFirst("Bearer ".count))) else {
            throw Problem(.unauthorized, "the token is unknown or revoked")
        }
        var context = context
        context.access = granted
        return try await next(request, context)
    }
}

/// Every failure as an RFC 9457 problem: `Problem`s as they are, the router's own errors (404) in the same shape,
/// a query the library refuses as 400, and anything else as a 500 that names only a reference to the server log.
package struct ProblemResponses<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    package init(logger: Logger) { self.logger = logger }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return problem.response(path: request.uri.path)
        } catch let error as QueryError {
            return Problem.badRequest(error.description).response(path: request.uri.path)
        } catch let error as any HTTPResponseError {
            let detail = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            return Problem(error.status, detail).response(path: request.uri.path)
        } catch {
            let reference = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            logger.error(
                "request failed",
                metadata: [
                    "http.path": "\(request.uri.path)", "error": "\(String(reflecting: error))",
                    "reference": "\(reference)",
                ])
            return Problem(
                .internalServerError,
                "the request could not be answered; the server log has the details under reference \(reference)"
            )
            .response(path: request.uri.path)
        }
    }
}
