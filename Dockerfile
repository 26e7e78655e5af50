# One image, one binary, a subcommand per role (DESIGN.md). Build:  docker build -t switchboard .
# Build stage: the official Swift image of the toolchain we use (6.3.1), with the C libraries' headers.
FROM swift:6.3.1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libhiredis-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest names test targets too, so SwiftPM wants their folders present to load it.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product switchboard --static-swift-stdlib \
 && install -D .build/release/switchboard /out/switchboard

# Run stage: slim Debian with only the run-time libraries, as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libhiredis0.14 libcurl4 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin switchboard \
 && install -d -o 10001 -g 10001 /var/lib/switchboard/blobs
COPY --from=build /out/switchboard /usr/local/bin/switchboard
# The scheduler's default entries; deployments mount their own over it (a Docker config).
COPY schedule.json /etc/switchboard/schedule.json
USER 10001:10001
# Uploaded audio (the producer writes, the speech consumers read): mount a volume here.
ENV BLOB_STORE=file:///var/lib/switchboard/blobs
VOLUME /var/lib/switchboard/blobs
# Every role serves /healthz: the producer on its port (8080), a consumer on its monitoring port
# (9090). HEALTHCHECK_PORT says which; set it to 8080 for the producer.
ENV HEALTHCHECK_PORT=9090
EXPOSE 8080 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["switchboard", "health"]
ENTRYPOINT ["switchboard"]
CMD ["consumer"]
