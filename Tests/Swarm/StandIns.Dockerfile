# The stand-ins' image (scripts/swarm-test.sh): Debian's redis-server for Chatwoot's Redis, and the
# `standins` binary, built on the host with the test suite, with the Swift runtime it links.
ARG RUN_IMAGE
FROM ${RUN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server libhiredis0.14 libcurl4 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY swift-runtime/ /usr/local/lib/swift-runtime/
RUN echo /usr/local/lib/swift-runtime > /etc/ld.so.conf.d/swift-runtime.conf && ldconfig
COPY standins /usr/local/bin/standins
ENTRYPOINT ["standins"]
