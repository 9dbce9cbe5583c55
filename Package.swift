// swift-tools-version:6.0
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "EmploymentMonitor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "empmon", targets: ["empmon"]),
        .executable(name: "empmon-api", targets: ["empmon-api"]),
        .executable(name: "empmon-bench", targets: ["empmon-bench"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "Postgres", targets: ["Postgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/CoreOffice/XMLCoder", from: "0.18.2"),
    ],
    targets: [
        // C libraries from Debian; only the Kafka and Postgres targets import them.
        .systemLibrary(
            name: "CRDKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: ["CRDKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Postgres",
            dependencies: ["CLibPQ", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // Pure Swift values: divisions, periods, indicators, records, validation, signing.
        .target(
            name: "Domain",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // Protocol Buffers wire format; Generated/ comes from scripts/generate-protos.sh and is committed.
        .target(
            name: "Wire",
            dependencies: ["Domain", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strictSettings
        ),
        // The agent's input: ledger files (CSV in UTF-8 or GBK, JSON lines, xlsx) read into signed records.
        .target(
            name: "Ledger",
            dependencies: [
                "Domain",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "XMLCoder", package: "XMLCoder"),
            ],
            swiftSettings: strictSettings
        ),
        // The grassroots agent: workspace, SQLite spool (WAL, synchronous=FULL), delivery to Kafka.
        .target(
            name: "Agent",
            dependencies: [
                "Domain", "Wire", "Ledger", "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // The clerk's page on the agent's computer (`empmon agent serve`): upload, row errors, status, templates.
        .target(
            name: "AgentPage",
            dependencies: [
                "Agent", "Ledger", "Domain", "Kafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // A synthetic, seasonal labour force on the real topology, with ground truth.
        .target(
            name: "Simulator",
            dependencies: ["Domain"],
            swiftSettings: strictSettings
        ),
        // Forecasting (ETS, seasonal naive), hierarchical reconciliation, accuracy, seasonal adjustment, targets.
        .target(
            name: "Analysis",
            dependencies: ["Domain"],
            // Optimised in debug builds too: tests and the demo fit thousands of models.
            swiftSettings: strictSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // Reads Topology/ (divisions, topics, targets) from disk.
        .target(
            name: "TopologyFiles",
            dependencies: ["Domain"],
            swiftSettings: strictSettings
        ),
        // The schema: one .sql file per migration (Migrations/), compiled into the binary; schema.sql is the schema
        // they make, for reading (a test keeps it current).
        .target(
            name: "Storage",
            dependencies: ["Postgres", "Domain"],
            exclude: ["schema.sql"],
            resources: [.embedInCode("Migrations")],
            swiftSettings: strictSettings
        ),
        // The city's stream processor: checks, ledger, incremental four-tier indicators, offsets in one
        // transaction per batch; and the from-scratch verifier.
        .target(
            name: "Processor",
            dependencies: [
                "Domain", "Wire", "Kafka", "Postgres", "Storage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The analyst's queries on the stored indicators: situation tables, series (raw, adjusted, as of a date),
        // targets, stored forecasts.
        .target(
            name: "Situation",
            dependencies: ["Domain", "Postgres", "Storage", "Analysis"],
            swiftSettings: strictSettings
        ),
        // Alert rules (Topology/alerts.yaml), their evaluation and lifecycle in PostgreSQL, delivery to the alerts
        // topic and to webhooks.
        .target(
            name: "Alerting",
            dependencies: [
                "Domain", "Postgres", "Kafka", "Analysis", "Situation", "Storage",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The monthly situation report (就业形势分析): HTML with inline SVG charts.
        .target(
            name: "Reporting",
            dependencies: ["Domain", "Postgres", "Analysis", "Situation"],
            swiftSettings: strictSettings
        ),
        // The HTTP API (Hummingbird): scoped bearer tokens, the query library as JSON and CSV, problem details.
        // Read side only: neither it nor Reporting may depend on Kafka (a test reads this graph).
        .target(
            name: "Serve",
            dependencies: [
                "Domain", "Postgres", "Situation", "Ledger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "DevStack",
            dependencies: [
                "Kafka", "Postgres", "Storage", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings
        ),
        // The parsers of outside input as fuzz targets (scripts/fuzz.sh), and their corpus replayed as tests.
        .target(
            name: "Fuzzing",
            dependencies: [
                "Domain", "Wire", "Ledger", "Kafka", "Storage", "Processor", "Alerting", "Analysis", "Serve",
            ],
            swiftSettings: strictSettings
        ),
        // The HTTP API alone, for deployment: the read side, without librdkafka (checked by scripts/check-module-graph.sh).
        .executableTarget(
            name: "empmon-api",
            dependencies: [
                "Serve", "Situation", "Postgres", "Domain", "TopologyFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "empmon-fuzz",
            dependencies: ["Fuzzing", "Domain", "TopologyFiles"],
            swiftSettings: strictSettings
        ),
        // What empmon and empmon-bench read at the edge: connection options, the environment, the files beside them.
        .target(
            name: "CommandEdge",
            dependencies: [
                "Agent", "Alerting", "Analysis", "DevStack", "Domain", "Kafka", "Ledger", "Processor", "Situation",
                "TopologyFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The city run on the dev stack, shared by the demo and the benches: county agents, the group's lag, the
        // progress line, memory figures, fresh databases.
        .target(
            name: "Harness",
            dependencies: [
                "Agent", "Domain", "Kafka", "Postgres", "Processor", "Simulator", "Storage", "TopologyFiles", "Wire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Every benchmark, each beside the raw limit measured in the same run (`empmon-bench`, or `empmon bench`).
        .target(
            name: "Bench",
            dependencies: [
                "CommandEdge", "Harness",
                "Kafka", "Postgres", "Storage", "DevStack", "Domain", "Wire", "TopologyFiles", "Agent", "Ledger",
                "Simulator", "Processor", "Analysis", "Situation", "Alerting", "Reporting", "Serve",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "empmon-bench",
            dependencies: ["Bench", "CommandEdge"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "empmon",
            dependencies: [
                "CommandEdge", "Harness",
                "Kafka", "Postgres", "Storage", "DevStack", "Domain", "Wire", "TopologyFiles", "Agent", "AgentPage",
                "Ledger", "Simulator",
                "Processor", "Analysis", "Situation", "Alerting", "Reporting", "Serve",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Tests by subject. Those below IntegrationTests need no service: `scripts/test.sh --fast` runs them alone.
        .testTarget(
            name: "DomainTests",
            dependencies: [
                "Domain", "Wire", "TopologyFiles", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LedgerTests", dependencies: ["Ledger", "Domain", "Simulator", "DevStack", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SimulatorTests", dependencies: ["Simulator", "Domain", "Ledger", "TopologyFiles", "TestSupport"],
            swiftSettings: strictSettings),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Domain"], swiftSettings: strictSettings),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "Domain"], swiftSettings: strictSettings),
        .testTarget(
            name: "AlertingTests", dependencies: ["Alerting", "Domain", "Simulator", "TopologyFiles"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ServeTests",
            dependencies: [
                "Serve", "Domain", "Postgres", "TopologyFiles",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FuzzRegressionTests", dependencies: ["Fuzzing", "Processor", "Domain", "TopologyFiles", "DevStack"],
            swiftSettings: strictSettings),
        // A fresh database per test on the test server (EMPMON_TEST_POSTGRES_URL); the project's own fixtures.
        .target(
            name: "TestSupport", dependencies: ["Postgres", "Domain", "TopologyFiles"], path: "Sources/TestSupport",
            swiftSettings: strictSettings),
        // Tests that need the shared stack: PostgreSQL, librdkafka's mock brokers, the empmon binary.
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "DevStack"], swiftSettings: strictSettings),
        .testTarget(
            name: "PostgresTests", dependencies: ["Postgres", "Storage", "Domain", "TestSupport", "DevStack"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "DevStack", "Kafka", "Postgres", "Domain", "Wire", "TopologyFiles", "TestSupport", "Storage",
                "Alerting", "Situation", "Analysis", "Serve", "Processor",
                "Agent", "Ledger", "Simulator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
