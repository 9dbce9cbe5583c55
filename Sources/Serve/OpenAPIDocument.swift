/// The API's OpenAPI 3.1 description, served at /api/v1/openapi.json.
enum OpenAPIDocument {
    static let json = """
        {"openapi":"3.1.0",
         "info":{"title":"Changzhi employment monitor API","version":"1.0.0",
                 "description":"Situation tables, series, forecasts, targets, completeness, alerts and rejections. Bearer tokens are scoped to a unit's subtree (empmon token create). Errors are RFC 9457 problem details. Table endpoints return CSV with format=csv."},
         "components":{"securitySchemes":{"bearer":{"type":"http","scheme":"bearer"}},
           "parameters":{
             "period":{"name":"period","in":"query","required":true,"schema":{"type":"string","pattern":"^[0-9]{4}-[0-9]{2}$"}},
             "tier":{"name":"tier","in":"query","required":true,"schema":{"enum":["city","county","township","village"]}},
             "indicator":{"name":"indicator","in":"query","schema":{"type":"string"}},
             "within":{"name":"within","in":"query","schema":{"type":"string","pattern":"^[0-9]{12}$"}},
             "format":{"name":"format","in":"query","schema":{"enum":["json","csv"]}},
             "code":{"name":"code","in":"path","required":true,"schema":{"type":"string","pattern":"^[0-9]{12}$"}}},
           "responses":{"problem":{"description":"RFC 9457 problem","content":{"application/problem+json":{"schema":{"type":"object","properties":{"type":{"type":"string"},"title":{"type":"string"},"status":{"type":"integer"},"detail":{"type":"string"},"instance":{"type":"string"}}}}}}}},
         "security":[{"bearer":[]}],
         "paths":{
           "/health":{"get":{"summary":"Liveness and database reachability","security":[],"responses":{"200":{"description":"ok"},"503":{"$ref":"#/components/responses/problem"}}}},
           "/api/v1/situation":{"get":{"summary":"Every unit of a tier for one month: value, MoM, YoY, rank, completeness, target progress",
             "parameters":[{"$ref":"#/components/parameters/tier"},{"$ref":"#/components/parameters/period"},{"$ref":"#/components/parameters/indicator"},{"$ref":"#/components/parameters/within"},{"name":"as_of","in":"query","description":"the figures as they stood at this moment (ISO 8601)","schema":{"type":"string","format":"date-time"}},{"$ref":"#/components/parameters/format"}],
             "responses":{"200":{"description":"situation table"},"400":{"$ref":"#/components/responses/problem"},"401":{"$ref":"#/components/responses/problem"},"403":{"$ref":"#/components/responses/problem"}}}},
           "/api/v1/completeness":{"get":{"summary":"Reporting completeness of every unit of a tier",
             "parameters":[{"$ref":"#/components/parameters/tier"},{"$ref":"#/components/parameters/period"},{"$ref":"#/components/parameters/within"},{"$ref":"#/components/parameters/format"}],
             "responses":{"200":{"description":"completeness"},"400":{"$ref":"#/components/responses/problem"},"403":{"$ref":"#/components/responses/problem"}}}},
           "/api/v1/targets":{"get":{"summary":"Year-to-date progress against the annual targets",
             "parameters":[{"$ref":"#/components/parameters/period"},{"name":"unit","in":"query","schema":{"type":"string"}},{"$ref":"#/components/parameters/format"}],
             "responses":{"200":{"description":"targets"},"400":{"$ref":"#/components/responses/problem"},"403":{"$ref":"#/components/responses/problem"}}}},
           "/api/v1/units/{code}/series":{"get":{"summary":"One indicator of one unit over months, raw and seasonally adjusted, preliminary or revised",
             "parameters":[{"$ref":"#/components/parameters/code"},{"name":"indicator","in":"query","required":true,"schema":{"type":"string"}},{"name":"from","in":"query","required":true,"schema":{"type":"string"}},{"name":"to","in":"query","required":true,"schema":{"type":"string"}},{"name":"as_of","in":"query","schema":{"type":"string","format":"date-time"}},{"$ref":"#/components/parameters/format"}],
             "responses":{"200":{"description":"series"},"400":{"$ref":"#/components/responses/problem"},"403":{"$ref":"#/components/responses/problem"},"404":{"$ref":"#/components/responses/problem"}}}},
           "/api/v1/units/{code}/forecast":{"get":{"summary":"The latest stored forecast with 80% and 95% intervals",
             "parameters":[{"$ref":"#/components/parameters/code"},{"$ref":"#/components/parameters/indicator"},{"$ref":"#/components/parameters/format"}],
             "responses":{"200":{"description":"forecast"},"403":{"$ref":"#/components/responses/problem"},"404":{"$ref":"#/components/responses/problem"}}}},
           "/api/v1/alerts":{"get":{"summary":"Alerts in the token's subtree, newest first","parameters":[{"name":"state","in":"query","schema":{"enum":["pending","firing","resolved"]}},{"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":10000,"default":1000}},{"$ref":"#/components/parameters/format"}],
             "responses":{"200":{"description":"alerts"},"400":{"$ref":"#/components/responses/problem"}}}},
           "/api/v1/rejections":{"get":{"summary":"Records the city refused (analyst tokens)","parameters":[{"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":10000}},{"$ref":"#/components/parameters/format"}],
             "responses":{"200":{"description":"rejections"},"403":{"$ref":"#/components/responses/problem"}}}},
           "/api/v1/open-data/situation":{"get":{"summary":"Open data: one indicator per unit; cells of fewer than 5 people suppressed (primary), and for counts a sibling with a lone suppressed cell (complementary)","security":[],
             "parameters":[{"name":"tier","in":"query","schema":{"enum":["city","county","township","village"]}},{"$ref":"#/components/parameters/period"},{"$ref":"#/components/parameters/indicator"},{"$ref":"#/components/parameters/format"}],
             "responses":{"200":{"description":"open data"},"400":{"$ref":"#/components/responses/problem"}}}}
         }}
        """
}
