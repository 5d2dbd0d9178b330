#!/usr/bin/env bash
# Refreshes deny/rustsec-advisory-db.bundle, the RustSec advisory snapshot `make lint` checks against offline: a
# shallow clone of github.com/rustsec/advisory-db, kept as a git bundle of one commit. Needs GitHub (the build machines
# do not reach it: run it where you can, then commit the bundle).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q --depth 1 https://github.com/rustsec/advisory-db.git "$work/db"
upstream=$(git -C "$work/db" rev-parse HEAD)
day=$(git -C "$work/db" log -1 --format=%cs)
git -C "$work/db" checkout -q --orphan snapshot
git -C "$work/db" -c user.name=cloudmind -c user.email=cloudmind@localhost commit -q -m \
  "RustSec advisory-db snapshot of $upstream ($day)"
git -C "$work/db" bundle create "$PWD/deny/rustsec-advisory-db.bundle" snapshot
echo "deny/rustsec-advisory-db.bundle: the RustSec database of $day ($upstream)"
