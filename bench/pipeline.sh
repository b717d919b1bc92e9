#!/usr/bin/env bash
# CPU per event of the in-process ingest stages (body parsing, privacy pipeline, log encoding),
# single-threaded, without HTTP or disks, on the same mix of requests as bench/ingest.lua.
#
# usage: bench/pipeline.sh [EVENTS=300000]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/tillit/target}
cargo build --release -q -p tillit-bench --bin ingest-stages
"$CARGO_TARGET_DIR/release/ingest-stages" "${1:-300000}"
