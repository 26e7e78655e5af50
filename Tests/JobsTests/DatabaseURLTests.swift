import Foundation
import Queue
import Testing

@testable import Jobs

/// DATABASE_URL as operators write it, and what of it may be shown.
@Suite struct DatabaseURLTests {
    @Test func thePasswordIsTakenOutAndDecoded() throws {
        let url = try DatabaseURL("postgres://chatwoot:p%40ss%3Aw%2Frd@postgres:5432/chatwoot_production?sslmode=require")
        #expect(url.withoutPassword == "postgres://chatwoot@postgres:5432/chatwoot_production?sslmode=require")
        #expect(url.password == "p@ss:w/rd" && url.database == "chatwoot_production")
        #expect(url.redacting("failed for p@ss:w/rd") == "failed for ***")
        let bare = try DatabaseURL("postgresql://postgres@db")
        #expect(bare.password == nil && bare.database == "postgres" && bare.withoutPassword == "postgresql://postgres@db")
        let atInPassword = try DatabaseURL("postgres://u:a@b@host/db")
        #expect(atInPassword.password == "a@b" && atInPassword.withoutPassword == "postgres://u@host/db")
    }

    @Test(arguments: ["mysql://u:p@h/db", "", "postgres:/nohost", "postgres://u:%zz@h/db"])
    func whatIsNotAPostgresURLIsRefusedWithoutEchoingIt(_ text: String) {
        #expect { _ = try DatabaseURL(text) } throws: { error in
            "\(error)".contains("DATABASE_URL") && (text.count < 12 || !"\(error)".contains(text))
        }
    }

    /// A password with an unencoded '/' or '?' once went whole into pg_dump's arguments (the URL
    /// not split, PGPASSWORD unset) and part of it into a dead letter: refused at start, naming the
    /// rule and never the password.
    @Test(arguments: [
        "postgres://chatwoot:se/cr3tpw@postgres:5432/chatwoot", "postgres://chatwoot:se?cr3tpw@postgres/chatwoot",
        "postgresql://chatwoot:a/b?cr3tpw@postgres/chatwoot?sslmode=require",
    ])
    func aPasswordWithAnUnencodedSlashOrQuestionMarkIsRefusedWithoutShowingIt(_ text: String) {
        #expect { _ = try DatabaseURL(text) } throws: { error in
            "\(error)".contains("percent-encode") && !"\(error)".contains("cr3tpw") && !"\(error)".contains("se/")
                && !"\(error)".contains("se?")
        }
    }

    /// An '@' in a query parameter's value of a URL without user information is what it says.
    @Test(arguments: [
        "postgres://postgres:5432/chatwoot?application_name=backup@night", "postgres://[::1]:5432/chatwoot?options=a@b",
        "postgres://u:p%2Fq@postgres/chatwoot?application_name=x@y",
    ])
    func anAtSignInAQueryValueIsTaken(_ text: String) throws {
        let url = try DatabaseURL(text)
        #expect(url.database == "chatwoot" && url.withoutPassword.contains("@") && !url.withoutPassword.contains("p%2Fq"))
    }

    @Test func aDatabaseNameBecomesASafeKey() throws {
        #expect(try DatabaseURL("postgres://h/../../etc").keySafeName == ".._.._etc", "no slash survives: the dump stays in its folder")
        #expect(try DatabaseURL("postgres://h/..").keySafeName == "database")
        #expect(try DatabaseURL("postgres://h/chat%20woot").keySafeName == "chat_woot")
    }

    @Test func dumpNamesSortByTimeAndOnlyOursAreRotated() {
        let a = DatabaseDump.objectName(at: Date(timeIntervalSince1970: 1_790_000_000), job: "01JBBBBBBBBBBBBBBBBBBBB001")
        let b = DatabaseDump.objectName(at: Date(timeIntervalSince1970: 1_790_086_400), job: "01JAAAAAAAAAAAAAAAAAAAA001")
        #expect(a < b && DatabaseDump.isOurs(a) && DatabaseDump.isOurs(b))
        for foreign in [
            "notes.txt", "manual.dump", "20261129T023000Z-short.dump", "20261129T023000Z-01JBBBBBBBBBBBBBBBBBBBB001.dump.bak",
            "2026112xT023000Z-01JBBBBBBBBBBBBBBBBBBBB001.dump",
        ] {
            #expect(!DatabaseDump.isOurs(foreign), "\(foreign)")
        }
    }

    @Test func pgDumpFailuresThatCannotHealArePermanent() {
        let mismatch = PostgresDump.failure(
            status: 1,
            said:
                "pg_dump: error: aborting because of server version mismatch\npg_dump: detail: server version: 17.2; pg_dump version: 16.6")
        guard case .permanent(let message) = mismatch else { Issue.record("\(mismatch)"); return }
        #expect(message.contains("16.6") && message.contains("17.2") && message.contains("PG_DUMP"))
        if case .retryable = PostgresDump.failure(
            status: 1, said: "pg_dump: error: connection to server at \"db\" failed: Connection refused")
        {
        } else {
            Issue.record("refused is retryable")
        }
        if case .permanent = PostgresDump.failure(status: 1, said: "FATAL:  password authentication failed for user \"x\"") {
        } else {
            Issue.record("auth is permanent")
        }
        if case .retryable(let killed, _) = PostgresDump.failure(status: -9, said: "") {
            #expect(killed.contains("signal 9"))
        } else {
            Issue.record("killed is retryable")
        }
    }
}
