// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "switchboard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.30.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.0"),
    ],
    targets: [
        // hiredis from Debian's libhiredis-dev. No `pkgConfig:` here: hiredis.pc carries
        // -D_FILE_OFFSET_BITS=64, which SwiftPM refuses with a warning on every build; the module
        // map includes <hiredis/hiredis.h> from /usr/include and links -lhiredis itself.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // libcurl from Debian's libcurl4-openssl-dev; the shim wraps its variadic setopt/getinfo.
        .systemLibrary(
            name: "CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // The one queue between Swift tasks and the threads that own curl's handles.
        .target(name: "Threads"),
        .target(
            name: "Services",
            dependencies: ["CCurl", "Threads", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Queue",
            dependencies: [
                "Redis",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Limits",
            dependencies: [
                "Queue", "Redis", "Services", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "Jobs",
            dependencies: [
                "Blobs", "Queue", "Redis", "Services", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "Blobs",
            dependencies: ["Services"]
        ),
        .target(
            name: "Producer",
            dependencies: [
                "Blobs",
                "Monitoring",
                "Jobs",
                "Queue",
                "Redis",
                "Services",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        .target(
            name: "Monitoring",
            dependencies: [
                "Queue",
                "Redis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .target(
            name: "Console",
            dependencies: [
                "Autoscale",
                "Jobs",
                "Monitoring",
                "Queue",
                "Redis",
                "Scheduler",
                "Services",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Consumers",
            dependencies: [
                "Monitoring",
                "Queue",
                "Jobs",
                "Redis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Autoscale",
            dependencies: [
                "Monitoring",
                "Queue",
                "Redis",
                "Services",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Scheduler",
            dependencies: [
                "Monitoring",
                "Queue",
                "Jobs",
                "Redis",
                "Services",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "Autoscale",
                "Blobs",
                "Console",
                "Consumers",
                "Producer",
                "Scheduler",
                "Services",
                "Jobs",
                "Limits",
                "Monitoring",
                "Queue",
                "Redis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Each flow end to end against the fakes: latency split into ours and the services'.
        .executableTarget(
            name: "flowbench",
            dependencies: [
                "Blobs", "Jobs", "Producer", "Queue", "Redis", "Services", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Benchmarks/FlowBench"
        ),
        // backup.database against a generated PostgreSQL, beside pg_dump alone.
        .executableTarget(
            name: "switchboardbench",
            dependencies: [
                "Autoscale", "Blobs", "Jobs", "Limits", "Monitoring", "Producer", "Queue", "Redis", "Services", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/SwitchboardBench"
        ),
        // A 300-page manual through knowledge add and a consumer; a guest's retrieval beside the one before.
        .executableTarget(
            name: "knowledgebench",
            dependencies: ["Jobs", "Queue", "Redis", "Services", "TestSupport", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/KnowledgeBench"
        ),
        .executableTarget(
            name: "dumpbench",
            dependencies: ["Jobs", "Queue", "Redis", "TestSupport"],
            path: "Benchmarks/DumpBench"
        ),
        // What the Swarm test (scripts/swarm-test.sh) deploys in place of Chatwoot, the model,
        // embeddings, Azure Speech and Qdrant: the suite's own fakes on the real ports.
        .executableTarget(
            name: "standins",
            dependencies: ["Services", "TestSupport", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Tests/Swarm/StandIns"
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "Services", "Redis", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "ThreadsTests",
            dependencies: ["Threads", "TestSupport"]
        ),
        .testTarget(
            name: "RedisTests",
            dependencies: ["Redis", "TestSupport"]
        ),
        .testTarget(
            name: "QueueTests",
            dependencies: ["Queue", "Jobs", "Redis", "Services", "TestSupport"]
        ),
        .testTarget(
            name: "LimitsTests",
            dependencies: [
                "Limits", "Jobs", "Queue", "Redis", "Services", "TestSupport", .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "ConsumersTests",
            dependencies: ["Consumers", "Queue", "Jobs", "Redis", "TestSupport"]
        ),
        .testTarget(
            name: "ConsoleTests",
            dependencies: ["Console", "Jobs", "Queue", "Redis", "Services", "TestSupport"],
            // The browser walkthrough is Python (selenium), run by ConsoleBrowserTests.
            exclude: ["Browser"]
        ),
        .testTarget(
            name: "CommandLineTests",
            dependencies: ["Redis", "TestSupport"]
        ),
        .testTarget(
            name: "ProducerTests",
            dependencies: [
                "Producer", "Blobs", "Jobs", "Queue", "Redis", "Services", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "AutoscaleTests",
            dependencies: ["Autoscale", "Queue", "Redis", "Services", "TestSupport", .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(
            name: "SchedulerTests",
            dependencies: ["Scheduler", "Jobs", "Queue", "Redis", "TestSupport"]
        ),
        .testTarget(
            name: "JobsTests",
            dependencies: [
                "Blobs", "Jobs", "Queue", "Redis", "Services", "TestSupport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BlobsTests",
            dependencies: ["Blobs", "Services", "TestSupport"]
        ),
        .testTarget(
            name: "ServicesTests",
            dependencies: [
                "Services", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(
            name: "DeploymentTests",
            dependencies: ["Autoscale", "Blobs", "Jobs", "Queue", "Scheduler", "Services", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
