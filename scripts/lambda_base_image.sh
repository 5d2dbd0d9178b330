#!/usr/bin/env bash
# Builds the local stand-in for Lambda's provided.al2023 base image, `cloudmind/lambda-base:local`, without a
# registry: FROM scratch, the host's own /bin/sh and the few tools SAM's image build runs (mv, chmod, cp, rm,
# mkdir), the shared libraries they and the given function binaries need (found with ldd), CA certificates, /tmp
# and /var/task. `sam local invoke --invoke-image cloudmind/lambda-base:local --skip-pull-image` adds Lambda's
# Runtime Interface Emulator (shipped in SAM's PyPI package) on top and mounts the function as /var/task.
# usage: scripts/lambda_base_image.sh BINARY...
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${LAMBDA_BASE_IMAGE:-cloudmind/lambda-base:local}
CTX=.tmp/lambda-base
rm -rf "$CTX"
mkdir -p "$CTX/rootfs"/{tmp,var/task,var/runtime,var/rapid,etc/ssl/certs,opt}
chmod 1777 "$CTX/rootfs/tmp"

copy() { # copy FILE: into the root at the same path, symlinks resolved
  local dest="$CTX/rootfs$1"
  [ -e "$dest" ] && return
  mkdir -p "$(dirname "$dest")"
  cp -L "$1" "$dest"
}

tools=()
for t in sh mv chmod cp rm mkdir; do tools+=("$(command -v "$t")"); done
for f in "${tools[@]}" "$@"; do
  [ -f "$f" ] || { echo "error: $f does not exist" >&2; exit 1; }
  case $f in "$PWD"/*|target/*|.tmp/*) ;; *) copy "$f" ;; esac
  # The loader and every library ldd resolves (lines "name => /path (addr)" and "/lib64/ld-linux... (addr)").
  while read -r lib; do copy "$lib"; done < <(ldd "$f" | grep -oE '/[^ ]+\.so[^ ]*' | sort -u)
done
# SAM's image build runs `/bin/sh -c "mv …"`: the tools live where PATH finds them.
for f in "${tools[@]}"; do mkdir -p "$CTX/rootfs/bin"; cp -L "$f" "$CTX/rootfs/bin/$(basename "$f")"; done
cp -L /etc/ssl/certs/ca-certificates.crt "$CTX/rootfs/etc/ssl/certs/" 2>/dev/null || true
printf 'root:x:0:0:root:/root:/bin/sh\nsbx_user1051:x:993:990::/home/sbx_user1051:/bin/sh\n' >"$CTX/rootfs/etc/passwd"
printf 'root:x:0:\n' >"$CTX/rootfs/etc/group"
cat >"$CTX/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
DOCKERFILE
docker build -q -t "$IMAGE" "$CTX" >/dev/null
echo "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1/1e6}'))"
