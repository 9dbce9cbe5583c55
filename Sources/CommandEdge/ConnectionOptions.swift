import ArgumentParser

/// Options every subcommand that talks to the services shares.
package struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .customLong("postgres-url"), help: "PostgreSQL URL (default: $EMPMON_POSTGRES_URL, then the dev stack).")
    package var postgresURL: String?

    @Option(
        name: .customLong("kafka"),
        help: "Kafka bootstrap servers (default: $EMPMON_KAFKA_BOOTSTRAP, then the dev stack).")
    package var kafkaBootstrap: String?

    @Option(help: "Dev stack folder (default: $EMPMON_HOME, then the nearest .empmon).")
    package var home: String?

    package init() {}
}
