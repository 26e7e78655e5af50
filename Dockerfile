# One image, one binary, a subcommand per role (docs/design.md).
#   docker build -t registry.example.com/switchboard:1.0.0 .
# Base images are pinned to a release each; change them here, on purpose, not by a pull.
ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG RUN_IMAGE=debian:12.12-slim
# The pg_dump the database backups run: its major version must be the server's or newer.
# Chatwoot's compose file runs PostgreSQL 16 (pgvector/pgvector:pg16); Debian 12 ships 15. A major
# Debian has is installed from Debian; any other from the PostgreSQL project's apt repository
# (apt.postgresql.org, its signing key checked), which the build must then reach. A database on
# PostgreSQL 15 or older: --build-arg PG_CLIENT_MAJOR=15, no repository but Debian's. A dump made by
# pg_dump N restores with pg_restore N or newer: this image has both.
ARG PG_CLIENT_MAJOR=16

# Build stage: the official Swift image of the toolchain we use, with the C libraries' headers.
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libhiredis-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in a layer of their own, at exactly the versions Package.resolved pins: a
# change to our sources does not fetch them again, and two builds of one commit are alike. The
# manifest names the test and benchmark targets too, so SwiftPM wants their folders present.
COPY Package.swift Package.resolved ./
COPY Benchmarks ./Benchmarks
COPY Tests ./Tests
COPY Sources ./Sources
RUN swift package resolve --force-resolved-versions
RUN swift build -c release --product switchboard --static-swift-stdlib --force-resolved-versions \
 && install -D .build/release/switchboard /out/switchboard

# Run stage: slim Debian with only the run-time libraries, as a non-root user.
FROM ${RUN_IMAGE}
ARG PG_CLIENT_MAJOR
RUN apt-get update \
 && apt-get install -y --no-install-recommends libhiredis0.14 libcurl4 ca-certificates tzdata poppler-utils \
 && if ! apt-cache show "postgresql-client-${PG_CLIENT_MAJOR}" >/dev/null 2>&1; then \
      apt-get install -y --no-install-recommends curl gnupg \
      && curl -fsSL https://www.postgresql.org/media/keys/ACCC4CF8.asc | gpg --dearmor -o /usr/share/keyrings/postgresql.gpg \
      && echo "deb [signed-by=/usr/share/keyrings/postgresql.gpg] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" > /etc/apt/sources.list.d/pgdg.list \
      && apt-get purge -y curl gnupg && apt-get autoremove -y && apt-get update; \
    fi \
 && apt-get install -y --no-install-recommends postgresql-client-${PG_CLIENT_MAJOR} \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin switchboard \
 && install -d -o 10001 -g 10001 /var/lib/switchboard/blobs
COPY --from=build /out/switchboard /usr/local/bin/switchboard
# The scheduler's default entries; deployments mount their own over it (a Docker config).
COPY schedule.json /etc/switchboard/schedule.json
USER 10001:10001
ENV PG_DUMP=/usr/lib/postgresql/${PG_CLIENT_MAJOR}/bin/pg_dump
# No BLOB_STORE here: a default every service inherited made those that never touch audio open
# (and, on a read-only root, fail on) a folder. A deployment that keeps audio in a folder on one
# node sets BLOB_STORE=file:///var/lib/switchboard/blobs and mounts a named volume there (the
# folder is the user's, so a new volume is too). No VOLUME either, for the same services.
# Every role serves /healthz and /readyz: the producer on its port (8080), a consumer and the
# scheduler on their monitoring port (9090). HEALTHCHECK_PORT says which; 8080 for the producer.
ENV HEALTHCHECK_PORT=9090
EXPOSE 8080 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["switchboard", "health", "--path", "/readyz"]
ENTRYPOINT ["switchboard"]
CMD ["consumer"]
