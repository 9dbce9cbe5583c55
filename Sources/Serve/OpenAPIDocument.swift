import Domain
import Foundation

/// The API's OpenAPI 3.1 description, served at /api/v1/openapi.json: the contract. Every parameter carries
/// the pattern, enum or range the handlers accept (`APIServer.period`, `unit`, `indicator`, `limit`, …), and
/// every operation lists every status it can answer. The contract test (schemathesis, `--checks all`) holds the
/// server to it in both directions: a request the document allows is answered, one it forbids is refused, and
/// no undocumented status or content type comes back.
package enum OpenAPIDocument {
    /// A month as the API takes it: `YYYY-MM`, years 2000 to 2099 (`APIQuery.years`).
    static let periodPattern = "^20[0-9]{2}-(0[1-9]|1[0-2])$"
    /// The codes `DivisionCode` accepts: province ≥ 11, city ≥ 01, and a lower group only under set higher ones.
    static let divisionCodePattern =
        "^(1[1-9]|[2-9][0-9])(0[1-9]|[1-9][0-9])(00000000|(0[1-9]|[1-9][0-9])(000000|(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})[0-9]{3}))$"

    package static let json: String = {
        let indicators = IndicatorCatalogue.all.map { "\"\($0.id.rawValue)\"" }.joined(separator: ",")
        let problem = ##"{"$ref":"#/components/responses/problem"}"##
        func problems(_ codes: [Int]) -> String { codes.map { "\"\($0)\":\(problem)" }.joined(separator: ",") }
        let table =
            #"{"description":"%@","content":{"application/json":{},"text/csv":{},"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":{}}}"#
        func tableResponse(_ description: String) -> String { table.replacingOccurrences(of: "%@", with: description) }
        let json = #"{"description":"%@","content":{"application/json":{}}}"#
        func jsonResponse(_ description: String) -> String { json.replacingOccurrences(of: "%@", with: description) }
        // Every bearer route answers 401 without a valid token, and 405 to methods other than GET and HEAD.
        let secured = [400, 401, 403, 405]
        return """
            {"openapi":"3.1.0",
             "info":{"title":"Changzhi employment monitor API","version":"1.0.0",
                     "description":"Situation tables, series, forecasts, targets, completeness, data quality, alerts, rejections and the county map. Bearer tokens are scoped to a unit's subtree (empmon token create); analyst tokens also read rejections. Errors are RFC 9457 problem details. Table endpoints return CSV with format=csv (csv-excel adds the byte-order mark Excel needs) and an Excel workbook with format=xlsx. Every route answers GET and HEAD; other methods get 405 with an Allow header."},
             "components":{"securitySchemes":{"bearer":{"type":"http","scheme":"bearer"}},
               "parameters":{
                 "period":{"name":"period","in":"query","required":true,"description":"month YYYY-MM","schema":{"type":"string","pattern":"\(periodPattern)"},"example":"2024-03"},
                 "tier":{"name":"tier","in":"query","required":true,"schema":{"type":"string","enum":["city","county","township","village"]}},
                 "indicator":{"name":"indicator","in":"query","schema":{"type":"string","enum":[\(indicators)]}},
                 "within":{"name":"within","in":"query","description":"a unit inside the token's subtree","schema":{"type":"string","pattern":"\(divisionCodePattern)"},"example":"140403000000"},
                 "format":{"name":"format","in":"query","description":"json; csv; csv-excel (CSV with a UTF-8 byte-order mark, for Excel and WPS); xlsx (an Excel workbook: typed numbers, codes as text)","schema":{"type":"string","enum":["json","csv","csv-excel","xlsx"]}},
                 "asOf":{"name":"as_of","in":"query","description":"the figures as they stood at this moment (RFC 3339)","schema":{"type":"string","format":"date-time"}},
                 "code":{"name":"code","in":"path","required":true,"schema":{"type":"string","pattern":"\(divisionCodePattern)"},"example":"140403001001"}},
               "responses":{"problem":{"description":"RFC 9457 problem","content":{"application/problem+json":{"schema":{"type":"object","required":["type","title","status","detail"],"properties":{"type":{"type":"string"},"title":{"type":"string"},"status":{"type":"integer"},"detail":{"type":"string"},"instance":{"type":"string"}}}}}}}},
             "security":[{"bearer":[]}],
             "paths":{
               "/health":{"get":{"summary":"Liveness and database reachability","security":[],"responses":{"200":\(jsonResponse("ok")),\(problems([405, 503]))}}},
               "/":{"get":{"summary":"The dashboard","security":[],"responses":{"200":{"description":"page","content":{"text/html":{}}},\(problems([405]))}}},
               "/metrics":{"get":{"summary":"Prometheus metrics","security":[],"responses":{"200":{"description":"metrics","content":{"text/plain":{}}},\(problems([405]))}}},
               "/api/v1/openapi.json":{"get":{"summary":"This document","security":[],"responses":{"200":\(jsonResponse("OpenAPI document")),\(problems([405]))}}},
               "/api/v1/meta":{"get":{"summary":"The token's unit and role, and the latest month reported","responses":{"200":\(jsonResponse("meta")),\(problems([401, 405]))}}},
               "/api/v1/situation":{"get":{"summary":"Every unit of a tier for one month: value, MoM, YoY, rank, completeness, target progress",
                 "parameters":[{"$ref":"#/components/parameters/tier"},{"$ref":"#/components/parameters/period"},{"$ref":"#/components/parameters/indicator"},{"$ref":"#/components/parameters/within"},{"$ref":"#/components/parameters/asOf"},{"$ref":"#/components/parameters/format"}],
                 "responses":{"200":\(tableResponse("situation table")),\(problems(secured + [404]))}}},
               "/api/v1/completeness":{"get":{"summary":"Reporting completeness of every unit of a tier",
                 "parameters":[{"$ref":"#/components/parameters/tier"},{"$ref":"#/components/parameters/period"},{"$ref":"#/components/parameters/within"},{"$ref":"#/components/parameters/format"}],
                 "responses":{"200":\(tableResponse("completeness")),\(problems(secured + [404]))}}},
               "/api/v1/targets":{"get":{"summary":"Year-to-date progress against the annual targets",
                 "parameters":[{"$ref":"#/components/parameters/period"},{"name":"unit","in":"query","schema":{"type":"string","pattern":"\(divisionCodePattern)"},"example":"140403000000"},{"$ref":"#/components/parameters/format"}],
                 "responses":{"200":\(tableResponse("targets")),\(problems(secured + [404]))}}},
               "/api/v1/units/{code}/series":{"get":{"summary":"One indicator of one unit over months (from through to; empty when from is after to), raw and seasonally adjusted, preliminary or revised",
                 "parameters":[{"$ref":"#/components/parameters/code"},{"name":"indicator","in":"query","required":true,"schema":{"type":"string","enum":[\(indicators)]}},{"name":"from","in":"query","required":true,"schema":{"type":"string","pattern":"\(periodPattern)"},"example":"2024-01"},{"name":"to","in":"query","required":true,"schema":{"type":"string","pattern":"\(periodPattern)"},"example":"2024-03"},{"$ref":"#/components/parameters/asOf"},{"$ref":"#/components/parameters/format"}],
                 "responses":{"200":\(tableResponse("series")),\(problems(secured + [404]))}}},
               "/api/v1/units/{code}/forecast":{"get":{"summary":"The latest stored forecast with 80% and 95% intervals",
                 "parameters":[{"$ref":"#/components/parameters/code"},{"$ref":"#/components/parameters/indicator"},{"$ref":"#/components/parameters/format"}],
                 "responses":{"200":\(tableResponse("forecast")),\(problems(secured + [404]))}}},
               "/api/v1/alerts":{"get":{"summary":"Alerts in the token's subtree, newest first","parameters":[{"name":"state","in":"query","schema":{"type":"string","enum":["pending","firing","resolved"]}},{"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":10000,"default":1000}},{"$ref":"#/components/parameters/format"}],
                 "responses":{"200":\(tableResponse("alerts")),\(problems([400, 401, 405]))}}},
               "/api/v1/rejections":{"get":{"summary":"Records the city refused (analyst tokens)","parameters":[{"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":10000,"default":200}},{"$ref":"#/components/parameters/format"}],
                 "responses":{"200":\(tableResponse("rejections")),\(problems(secured))}}},
               "/api/v1/quality":{"get":{"summary":"Data quality of each village's month within a unit: timeliness, status-changing corrections, copied-forward ledgers, a year without a status change, persons two villages reported, refused records; each flag and a score (period defaults to the latest month reported; 404 when nothing was)",
                 "parameters":[{"name":"period","in":"query","description":"month YYYY-MM","schema":{"type":"string","pattern":"\(periodPattern)"},"example":"2024-03"},{"$ref":"#/components/parameters/within"},{"name":"flagged","in":"query","description":"only villages with a flag","schema":{"type":"boolean"}},{"$ref":"#/components/parameters/format"}],
                 "responses":{"200":\(tableResponse("data quality")),\(problems(secured + [404]))}}},
               "/api/v1/map":{"get":{"summary":"The city's counties as SVG paths (width, height, and per county its code, name, path and label point) for a choropleth; 404 when the server has no outlines",
                 "responses":{"200":\(jsonResponse("county outlines")),\(problems([400, 401, 404, 405]))}}},
               "/api/v1/open-data/situation":{"get":{"summary":"Open data: one indicator per unit; cells of fewer than 5 people suppressed (primary), and for counts a sibling with a lone suppressed cell (complementary)","security":[],
                 "parameters":[{"name":"tier","in":"query","schema":{"type":"string","enum":["city","county","township","village"],"default":"county"}},{"$ref":"#/components/parameters/period"},{"$ref":"#/components/parameters/indicator"},{"$ref":"#/components/parameters/format"}],
                 "responses":{"200":\(tableResponse("open data")),\(problems([400, 405]))}}}
             }}
            """
    }()
}
