#!/usr/bin/env bash
# The base images the Dockerfile's FROM lines name, made here where no registry can be reached:
#   RUN_IMAGE   Debian bookworm, minbase, from Debian's mirror (debootstrap, then docker import)
#   SWIFT_IMAGE the same root with what the official swift:*-bookworm image adds (compilers' C
#               headers, binutils, git) and this machine's Swift toolchain in /usr, its package
#               copies (/opt/swift-packages, which git reads github.com addresses from) beside it.
# Each is made once per Engine: an image already tagged is kept. Prints the two tags.
set -euo pipefail
run_tag=${RUN_BASE_TAG:-switchboard-local/debian:bookworm}
swift_tag=${SWIFT_BASE_TAG:-switchboard-local/swift:$(swift --version 2>/dev/null | sed -nE 's/.*Swift version ([0-9.]+).*/\1/p' | head -1)-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=${BASE_WORK:-/var/tmp/switchboard-base-images}
# The toolchain's root: the folder holding usr/bin/swift.
toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
exists() { docker image inspect "$1" >/dev/null 2>&1; }

if ! exists "$run_tag"; then
  rm -rf "$work/run" && mkdir -p "$work"
  debootstrap --variant=minbase bookworm "$work/run" "$mirror" >"$work/run.log" 2>&1 \
    || { echo "debootstrap of the run base failed; its log:" >&2; tail -20 "$work/run.log" >&2; exit 1; }
  rm -rf "$work/run/var/cache/apt/archives/"*.deb "$work/run/var/lib/apt/lists/"*
  tar -C "$work/run" --numeric-owner -c . | docker import -c 'CMD ["bash"]' - "$run_tag" >/dev/null
  rm -rf "$work/run"
fi

if ! exists "$swift_tag"; then
  rm -rf "$work/swift" && mkdir -p "$work"
  debootstrap --variant=minbase \
    --include=binutils,git,libc6-dev,libgcc-12-dev,libstdc++-12-dev,libcurl4-openssl-dev,libxml2,libsqlite3-0,libncurses6,libedit2,zlib1g-dev,pkg-config,tzdata,ca-certificates \
    bookworm "$work/swift" "$mirror" >"$work/swift.log" 2>&1 \
    || { echo "debootstrap of the build base failed; its log:" >&2; tail -20 "$work/swift.log" >&2; exit 1; }
  rm -rf "$work/swift/var/cache/apt/archives/"*.deb "$work/swift/var/lib/apt/lists/"*
  # The compiler, the package manager and the runtime; not the debugger, the language server or docc.
  tar -C "$toolchain" -c \
    --exclude='usr/bin/lldb*' --exclude='usr/bin/sourcekit-lsp' --exclude='usr/bin/clangd' --exclude='usr/bin/docc' \
    --exclude='usr/bin/swift-format' --exclude='usr/bin/wasmkit' --exclude='usr/lib/liblldb*' \
    --exclude='usr/lib/libsourcekitdInProc.so' --exclude='usr/lib/libSwiftSourceKit*' usr | tar -C "$work/swift" -x
  if [ -d /opt/swift-packages ]; then
    mkdir -p "$work/swift/opt" && cp -a /opt/swift-packages "$work/swift/opt/"
    printf '[url "/opt/swift-packages/"]\n\tinsteadOf = https://github.com/\n' > "$work/swift/etc/gitconfig"
  fi
  tar -C "$work/swift" --numeric-owner -c . | docker import -c 'CMD ["bash"]' - "$swift_tag" >/dev/null
  rm -rf "$work/swift"
fi
echo "$run_tag $swift_tag"
