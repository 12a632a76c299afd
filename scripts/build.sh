#!/usr/bin/env bash
# Installs what is missing and builds target/release/hangar with its site embedded. The server library does not
# embed the site, so it compiles while the UI does (keeping both cores busy through the UI's long single-threaded
# steps), after libvirt's packages (which it links against) are in; the UI starts at once. Then the binary's small
# crate embeds the finished site.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
t0=$SECONDS
scripts/setup.sh --tools
# Installing libvirt may ask for a password: ask now, not in the middle of the compiler's output.
if [[ $(id -u) != 0 ]] && ! command -v libvirtd >/dev/null; then sudo -v; fi
echo "[build] installing libvirt, then compiling the server library, alongside the site (first time: ~12 min;" \
  "after an edit: ~1-3 min)"
# Its own process group, so that stopping this script (Ctrl-C) or a failed site stops the whole job.
set -m
(
  set -o pipefail
  scripts/setup.sh --libvirt 2>&1 | sed -u 's/^/[libvirt] /'
  cargo build --release -p server --lib 2>&1 | sed -u 's/^/[server] /'
) &
server=$!
set +m
trap 'kill -TERM -- -"$server" 2>/dev/null || true' EXIT
if ! scripts/build-site.sh; then
  echo "[build] the site failed to build (above); stopping the server's build" >&2
  exit 1
fi
if ! wait "$server"; then
  echo "[build] the server library failed to build (above)" >&2
  exit 1
fi
trap - EXIT
echo "[build] embedding the site into target/release/hangar"
cargo build --release -p server --bin hangar
echo "[build] done in $((SECONDS - t0)) s"
