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
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "Postgres", targets: ["Postgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
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
        .target(
            name: "Storage",
            dependencies: ["Postgres"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "DevStack",
            dependencies: ["Kafka", "Postgres", "Storage", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "empmon",
            dependencies: [
                "Kafka", "Postgres", "Storage", "DevStack",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"], swiftSettings: strictSettings),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "Storage"], swiftSettings: strictSettings),
        .testTarget(
            name: "DevStackTests",
            dependencies: ["DevStack", "Kafka", "Postgres", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
    ]
)
