import Redis
import Testing

@Suite struct RedisEndpointTests {
    @Test func parsesEveryPart() throws {
        let endpoint = try RedisEndpoint(url: "redis://alice:s3cret@redis.internal:6380/4")
        #expect(endpoint == RedisEndpoint(host: "redis.internal", port: 6380, username: "alice", password: "s3cret", database: 4))
    }

    @Test func defaultsPortAndDatabase() throws {
        #expect(try RedisEndpoint(url: "redis://localhost") == RedisEndpoint(host: "localhost", port: 6379))
        #expect(try RedisEndpoint(url: "redis://localhost/") == RedisEndpoint(host: "localhost", port: 6379))
    }

    @Test func passwordWithoutUser() throws {
        let endpoint = try RedisEndpoint(url: "redis://:p%40ss@127.0.0.1:7000")
        #expect(endpoint.username == nil)
        #expect(endpoint.password == "p@ss")
        #expect(endpoint.port == 7000)
    }

    @Test func ipv6Host() throws {
        let endpoint = try RedisEndpoint(url: "redis://[::1]:6390/2")
        #expect(endpoint.host == "::1")
        #expect(endpoint.port == 6390)
        #expect(endpoint.database == 2)
        #expect(endpoint.description == "redis://[::1]:6390/2")
    }

    @Test func descriptionNeverShowsThePassword() throws {
        let endpoint = try RedisEndpoint(url: "redis://alice:hunter2@h:1/3")
        #expect(endpoint.description == "redis://alice:***@h:1/3")
        #expect(!endpoint.description.contains("hunter2"))
    }

    @Test(arguments: [
        "http://localhost", "redis://", "redis://host:0", "redis://host:99999", "redis://host:x", "redis://host/-1", "redis://host/db",
    ])
    func rejectsMalformedURLs(_ url: String) {
        #expect(throws: RedisError.self) { try RedisEndpoint(url: url) }
    }

    @Test func rejectionNamesTheProblemNotThePassword() {
        do {
            _ = try RedisEndpoint(url: "redis://:topsecret@host:70000")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("port"))
            #expect(!"\(error)".contains("topsecret"))
        }
    }
}
