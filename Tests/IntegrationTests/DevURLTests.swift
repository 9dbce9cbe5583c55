import Testing

@testable import DevStack

@Test("The secure dev URL carries the CA's path percent-encoded, so a home with a space, & or # keeps it whole")
func caPathIsAQueryValue() {
    #expect(
        LocalPostgres.queryValue("/home/王 clerk/a&b#c/.empmon/tls/ca.crt")
            == "/home/%E7%8E%8B%20clerk/a%26b%23c/.empmon/tls/ca.crt")
    #expect(LocalPostgres.queryValue("/work/main/.empmon-test/tls/ca.crt") == "/work/main/.empmon-test/tls/ca.crt")
}
