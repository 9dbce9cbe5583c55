import Postgres

/// The database schema of the employment monitor, as versioned migrations (`empmon db migrate`): one file each in
/// `Migrations/`, compiled into the binary. `schema.sql` beside them is the schema they make, for reading; a test
/// applies the migrations and compares.
///
/// Never edit a migration that has shipped: the migrator refuses a changed checksum. Add a new file and a line here.
package enum Schema {
    package static let migrations: [PostgresMigration] = [
        migration(1, "consumer offsets", PackageResources._01_consumer_offsets_sql),
        migration(2, "agent registry and city keys", PackageResources._02_agent_registry_and_city_keys_sql),
        migration(
            3, "ledger, derived counts, indicators, rejections",
            PackageResources._03_ledger_counts_indicators_rejections_sql),
        migration(
            4, "indicator history, forecasts, alerts", PackageResources._04_indicator_history_forecasts_alerts_sql),
        migration(5, "API tokens", PackageResources._05_api_tokens_sql),
        migration(6, "control totals", PackageResources._06_control_totals_sql),
        migration(7, "indicator history by statement", PackageResources._07_indicator_history_by_statement_sql),
        migration(8, "urban labour force and urban registered unemployed", PackageResources._08_urban_labour_force_sql),
        migration(9, "new entrants of each village and month", PackageResources._09_new_entrants_sql),
        migration(
            10, "room on each page for the next version of a count row",
            PackageResources._10_room_for_count_row_versions_sql),
        migration(
            11, "a count of the statements that write the ledger and its derived counts",
            PackageResources._11_ledger_write_count_sql),
        migration(12, "receipts to agents", PackageResources._12_receipts_to_agents_sql),
        migration(13, "records displaced by another unit's", PackageResources._13_displaced_records_sql),
        migration(14, "agents' public keys", PackageResources._14_agents_public_keys_sql),
        migration(15, "data quality of each village and month", PackageResources._15_data_quality_sql),
    ]

    package static func migrator() throws -> PostgresMigrator {
        try PostgresMigrator(migrations: migrations)
    }

    /// A migration file's text without the newline that ends the file: the first fifteen were Swift string literals,
    /// which end without one, and their recorded checksums are of that text.
    private static func migration(_ version: Int, _ name: String, _ bytes: [UInt8]) -> PostgresMigration {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return PostgresMigration(version: version, name: name, sql: text)
    }
}
