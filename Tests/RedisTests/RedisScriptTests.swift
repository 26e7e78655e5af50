import Redis
import Testing

@Suite struct RedisScriptTests {
    @Test func scriptNamesAreTheSHA1RedisUses() {
        // The SHA-1 Redis gives `SCRIPT LOAD "return 1"`, lowercase hex with leading zeros kept.
        #expect(RedisScript(name: "one", source: "return 1").sha == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(RedisScript(name: "empty", source: "").sha == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }
}
