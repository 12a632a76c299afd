#!/usr/bin/env bash
# Runs the benchmarks (release build). Prints ratios against a reference measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p server --bench vms_list
cargo build --release -p server
cargo bench -p server --bench upload
cargo bench -p server --bench create
