import Foundation
import TestSupport
import Testing

/// The Dockerfile as a build on someone else's machine would meet it: only what it copies is there.
@Suite struct ImageTests {
    static let root = DeploymentTests.root

    /// The build stage's `COPY` sources (not `--from` ones), as written.
    static func buildStageSources() throws -> [String] {
        let lines = try String(contentsOf: root.appendingPathComponent("Dockerfile"), encoding: .utf8).split(separator: "\n")
        var stage = 0
        var sources: [String] = []
        for line in lines {
            let words = line.split(separator: " ").map(String.init)
            if words.first == "FROM" { stage += 1 }
            guard stage == 1, words.first == "COPY", !words.contains(where: { $0.hasPrefix("--from") }), words.count >= 3 else { continue }
            sources += words.dropFirst().dropLast()
        }
        return sources
    }

    static func swiftExecutable() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":").map { "\($0)/swift" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A new target outside the copied folders (as `Benchmarks/` once was) fails here, in CI,
    /// instead of in the operator's `docker build`.
    @Test(.enabled(if: swiftExecutable() != nil))
    func thePackageLoadsFromExactlyWhatTheDockerfileCopies() async throws {
        let sources = try Self.buildStageSources()
        #expect(sources.contains("Package.swift") && sources.contains("Package.resolved"), "\(sources)")
        let context = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-context-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: context) }
        for source in sources {
            let from = Self.root.appendingPathComponent(source)
            #expect(FileManager.default.fileExists(atPath: from.path), "the Dockerfile copies \(source), which is not in the repository")
            try FileManager.default.copyItem(at: from, to: context.appendingPathComponent(source))
        }
        let described = try await ChildProcess.run(
            try #require(Self.swiftExecutable()), ["package", "describe", "--type", "json"],
            directory: context.path, timeout: .seconds(120))
        #expect(described.status == 0, "SwiftPM cannot load the package from the image's build context: \(described.stderr.suffix(2000))")
        #expect(described.stdout.contains("\"name\" : \"switchboard\""))
    }

    /// Package.resolved is part of the source: an application builds with what it pinned.
    @Test func theResolvedVersionsAreCommittedAndUsed() async throws {
        let tracked = try await ChildProcess.run(
            "/usr/bin/git", ["ls-files", "--error-unmatch", "Package.resolved"], directory: Self.root.path)
        #expect(tracked.status == 0, "Package.resolved is not in git")
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(dockerfile.contains("swift package resolve --force-resolved-versions"))
        #expect(dockerfile.contains("swift build -c release --product switchboard --static-swift-stdlib --force-resolved-versions"))
    }

    /// No anonymous volume for services that never use it, and no base image that moves under us.
    @Test func noAnonymousVolumeAndPinnedBaseImages() throws {
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let lines = dockerfile.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(!lines.contains { $0.hasPrefix("VOLUME") })
        // Nor a blob store every service would inherit and open on its read-only root.
        #expect(!lines.contains { $0.hasPrefix("ENV") && $0.contains("BLOB_STORE") })
        let images = lines.filter { $0.hasPrefix("ARG ") && $0.contains("IMAGE=") }.compactMap {
            $0.split(separator: "=").last.map(String.init)
        }
        #expect(images.count == 2, "\(images)")
        for image in images {
            let tag = image.split(separator: ":").last.map(String.init) ?? ""
            #expect(image.contains(":") && tag != "latest" && tag.contains(where: \.isNumber), "\(image) is not pinned to a release")
        }
    }
}
