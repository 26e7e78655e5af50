import Foundation
import TestSupport
import Testing

/// `backups fetch` writes only where it was told: never through a symlink planted at
/// `FILE.partial`, and never the bucket's listing for a key that names no object.
@Suite struct BackupsFetchTests {
    static func environment(_ s3: FakeS3) -> [String: String] {
        ["R2_ENDPOINT": s3.url, "R2_BUCKET": "backups", "R2_ACCESS_KEY_ID": "r2-key", "R2_SECRET_ACCESS_KEY": "r2-secret"]
    }

    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-fetch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func aSymlinkAtThePartialFileIsNeverWrittenThrough() async throws {
        let s3 = try await FakeS3(bucket: "backups", accessKeyID: "r2-key", secret: "r2-secret")
        let dump = Array("PGDMP a dump's bytes".utf8)
        s3.objects.withLock { $0["switchboard/dumps/chatwoot/1.dump"] = (dump, "application/octet-stream") }
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let victim = folder.appendingPathComponent("authorized_keys")
        try Data("ssh-ed25519 AAAA the operator's key\n".utf8).write(to: victim)
        let output = folder.appendingPathComponent("restore.dump").path
        try FileManager.default.createSymbolicLink(atPath: output + ".partial", withDestinationPath: victim.path)
        let fetched = try await SwitchboardProcess.run(
            ["backups", "fetch", "switchboard/dumps/chatwoot/1.dump", "--output", output],
            environment: Self.environment(s3))
        #expect(fetched.status == 1 && fetched.output.contains("not a regular file"), "\(fetched.output)")
        #expect(
            try String(contentsOf: victim, encoding: .utf8) == "ssh-ed25519 AAAA the operator's key\n", "the link's target is untouched")
        #expect(!FileManager.default.fileExists(atPath: output))
        // Removed, and a stale regular .partial left by a stopped run, the fetch goes through.
        try FileManager.default.removeItem(atPath: output + ".partial")
        try Data("half a dump".utf8).write(to: URL(fileURLWithPath: output + ".partial"))
        let again = try await SwitchboardProcess.run(
            ["backups", "fetch", "switchboard/dumps/chatwoot/1.dump", "--output", output],
            environment: Self.environment(s3))
        #expect(again.status == 0, "\(again.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(dump))
        #expect(!FileManager.default.fileExists(atPath: output + ".partial"))
    }

    @Test(arguments: ["", "  ", "/", "switchboard/dumps/", "a\u{1B}]0;owned\u{07}.dump"])
    func aKeyThatNamesNoObjectIsRefusedBeforeAnyRequest(_ key: String) async throws {
        let s3 = try await FakeS3(bucket: "backups", accessKeyID: "r2-key", secret: "r2-secret")
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fetched = try await SwitchboardProcess.run(
            ["backups", "fetch", key, "--output", folder.appendingPathComponent("x").path],
            environment: Self.environment(s3))
        #expect(fetched.status == 2 && fetched.output.contains("is no object key"), "\(fetched.status) \(fetched.output)")
        #expect(!fetched.output.contains("\u{1B}"), "the key is shown escaped")
        #expect(s3.requests.isEmpty, "nothing was asked of the bucket")
    }
}
