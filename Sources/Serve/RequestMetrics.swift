import HTTPTypes
import Hummingbird
import Prometheus

/// Counts requests by route pattern and status, and times them, for /metrics.
///
/// The label is the route the router matched (`/api/v1/units/{code}/series`), never the path that was sent:
/// a caller inventing paths or unit codes must not grow the label set (and the scrape) without bound. Every
/// path that matches no route counts under the one label `NotFound`.
///
/// Hummingbird's `MetricsMiddleware` labels by route pattern too, but it records through the process-wide
/// `MetricsSystem` under its own names (`http.server.requests`): every server in a process (the tests run several)
/// would share one set of counters, and the dashboards and alert rules in Deploy/ and Dashboards/ read
/// `empmon_api_requests_total`. This one writes to the server's own registry.
struct RequestMetrics<Context: RequestContext>: RouterMiddleware {
    let registry: PrometheusCollectorRegistry

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "empmon", subsystem: "api", metricName: "requests", unitName: "total",
            helpText: "API requests by endpoint and status")
    }
    static var durations: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "empmon", subsystem: "api", metricName: "request_duration", unitName: "seconds",
            helpText: "API request durations")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(endpoint: context.endpointPath, status: response.status, since: started)
            return response
        } catch {
            record(
                endpoint: context.endpointPath,
                status: (error as? any HTTPResponseError)?.status ?? .internalServerError, since: started)
            throw error
        }
    }

    private func record(endpoint: String?, status: HTTPResponse.Status, since started: ContinuousClock.Instant) {
        let endpoint = endpoint.flatMap { $0 == "NotFound" || $0.isEmpty ? nil : $0 } ?? "NotFound"
        registry.makeCounter(
            descriptor: Self.requests, labels: [("endpoint", endpoint), ("status", String(status.code))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.durations, labels: [("endpoint", endpoint)],
            buckets: [
                .milliseconds(5), .milliseconds(20), .milliseconds(50), .milliseconds(200), .seconds(1), .seconds(5),
            ]
        ).record(ContinuousClock.now - started)
    }
}
