import Foundation
import Redis
import TestSupport
import Testing

/// A client configured with sentinels, as Chatwoot's Redis is when it runs under Sentinel.
@Suite struct SentinelTests {
    @Test func sentinelListsAreParsedAsChatwootWritesThem() throws {
        let settings = try SentinelSettings(list: "10.0.0.5:26380, sentinel-b ,[::1]:26381", masterName: "chatwoot", password: "pw")
        #expect(settings.sentinels.map(\.description) == ["10.0.0.5:26380", "sentinel-b:26379", "[::1]:26381"])
        #expect(!settings.description.contains("pw"))
        for bad in ["", " , ", "host:0", "host:99999", ":26379"] {
            #expect(throws: RedisError.self, "\(bad)") { try SentinelSettings(list: bad) }
        }
        var endpoint = RedisEndpoint(password: "secret")
        endpoint.sentinel = settings
        #expect(endpoint.description == "redis+sentinel://:***@chatwoot (sentinels 10.0.0.5:26380,sentinel-b:26379,[::1]:26381)")
    }

    /// The client finds the master through the sentinel, and after a failover writes to the new
    /// master: the old one answers READONLY (or is announced by +switch-master), and the next
    /// command goes to the server the sentinel names now.
    @Test func aClientFollowsTheMasterThroughAFailover() async throws {
        let group = try await RedisSentinelGroup()
        try await group.ready()
        let client = RedisClient(endpoint: RedisEndpoint(host: "192.0.2.1", port: 1, sentinel: group.settings))
        defer { client.close() }
        try await client.send("SET", "before", "1")
        #expect(try await client.send("ROLE").array?.first?.string == "master")
        // Replicated before the failover (a loaded machine can take seconds), or the test proves nothing.
        #expect(try await group.first.command("WAIT", "1", "20000").integer == 1, "the replica has the write")
        try await group.failover()
        #expect(try await group.masterPort() == group.second.port)
        // Within a few commands the client writes to the new master. On the way it may meet a
        // READONLY (what a caller retries, as the engine does), or, for the moment before the
        // sentinel demotes the old master, still write there: Sentinel's own window, said in the README.
        let written = LockedValue(0)
        #expect(
            await eventually(timeout: .seconds(15)) {
                let value = written.withLock { value -> Int in
                    value += 1
                    return value
                }
                guard (try? await client.send("SET", "after", String(value))) != nil else { return false }
                return (try? await group.second.command("GET", "after"))?.string == String(value)
            }, "written to the new master")
        // Read through the client, which may meet the demoted master mid-resync for a moment.
        #expect(
            await eventually(timeout: .seconds(10)) { (try? await client.send("GET", "before"))?.string == "1" },
            "what was replicated is there; the sentinel's log:\n\(group.sentinelLog)")
        #expect(
            try await group.second.command("GET", "before").string == "1",
            "and on the new master itself; the sentinel's log:\n\(group.sentinelLog)")
    }
}
