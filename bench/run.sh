#!/usr/bin/env bash
# Runs the benchmarks (release build). Prints ratios against a reference measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p server --bench vms_list
cargo build --release -p server
cargo bench -p server --bench upload
cargo bench -p server --bench create
python3 -c 'import websockify' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check websockify==0.13.0
cargo bench -p server --bench console
cargo bench -p server --bench monitoring
