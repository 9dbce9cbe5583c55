import Postgres
import Testing

@Suite("PostgreSQL layer without a server")
struct PostgresUnitTests {
    @Test("Another database on the same server keeps the user, host, port and options")
    func replacingDatabase() {
        #expect(
            PostgresURL.replacingDatabase(
                of: "postgresql://u@127.0.0.1:5432/empmon?sslmode=disable&x=a/b", with: "test_1")
                == "postgresql://u@127.0.0.1:5432/test_1?sslmode=disable&x=a/b")
        #expect(PostgresURL.replacingDatabase(of: "postgresql://u:p@h/d", with: "e") == "postgresql://u:p@h/e")
        #expect(PostgresURL.replacingDatabase(of: "postgresql://u@h:5432", with: "e") == nil)
    }

    @Test("Passwords are masked in URLs and key=value strings")
    func redaction() throws {
        #expect(
            try PostgresURL.redact("postgresql://empmon:pa55@db.local:5432/empmon")
                == "postgresql://empmon:***@db.local:5432/empmon")
        #expect(
            try PostgresURL.redact("postgresql://empmon@127.0.0.1:5432/empmon")
                == "postgresql://empmon@127.0.0.1:5432/empmon")
        #expect(try PostgresURL.redact("host=db password=pa55 dbname=x") == "host=db password=*** dbname=x")
        #expect(throws: PostgresError.self) { try PostgresURL.redact("host=db password") }
    }

    @Test("bytea round-trips through its hex text form")
    func byteaRoundTrip() throws {
        let bytes = PostgresBytes((0...255).map { UInt8($0) })
        let text = try #require(bytes.postgresText)
        #expect(try PostgresBytes(postgresText: text) == bytes)
        #expect(throws: PostgresError.self) { try PostgresBytes(postgresText: "\\xZZ") }
    }

    @Test("Numbers and booleans in text form")
    func scalars() throws {
        #expect(try Int(postgresText: "-12") == -12)
        #expect(throws: PostgresError.self) { try Int(postgresText: "12a") }
        #expect(try Bool(postgresText: "t") && !(try Bool(postgresText: "f")))
        #expect(try Double(postgresText: "NaN").isNaN)
        #expect(Double.infinity.postgresText == "Infinity")
        #expect((nil as Int?).postgresText == nil)
    }

    @Test("Missing grants, tables and databases need an operator; lost connections, deadlocks and races do not")
    func needsOperator() {
        for state in ["42501", "42P01", "42703", "3D000", "28P01"] {
            #expect(PostgresError(.server, "x", sqlState: state).needsOperator, "\(state)")
        }
        for state in ["40P01", "40001", "23505", "42P07", "57P01", "08006", "53300"] {
            #expect(!PostgresError(.server, "x", sqlState: state).needsOperator, "\(state)")
        }
        #expect(!PostgresError(.connection, "server closed the connection").needsOperator)
    }

    @Test(
        "Only what a retry can mend is transient: lost connections, restarts, deadlocks, serialization, resources, races"
    )
    func transient() {
        for state in [
            "40P01", "40001", "57P01", "57P02", "57P03", "08006", "08001", "53300", "53100", "55P03", "42P07",
        ] {
            #expect(PostgresError(.server, "x", sqlState: state).isTransient, "\(state)")
        }
        for state in ["23505", "23503", "23514", "22P02", "42501", "42P01", "42703", "3D000", "28P01", "XX000"] {
            #expect(!PostgresError(.server, "x", sqlState: state).isTransient, "\(state)")
        }
        #expect(PostgresError(.connection, "server closed the connection").isTransient)
        #expect(
            !PostgresError(.decoding, "a stored row is malformed").isTransient,
            "a row that cannot be decoded will not decode next time")
    }
}
