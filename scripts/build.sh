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
echo "[build] installing libvirt, then compiling the server library, alongside the site (first time: ~12 min;" \
  "after an edit: ~1 min)"
(
  set -o pipefail
  scripts/setup.sh --libvirt 2>&1 | sed -u 's/^/[libvirt] /'
  cargo build --release -p server --lib 2>&1 | sed -u 's/^/[server] /'
) &
server=$!
site_ok=0
scripts/build-site.sh || site_ok=$?
server_ok=0
wait "$server" || server_ok=$?
if ((site_ok || server_ok)); then
  echo "[build] failed: site $site_ok, server library $server_ok" >&2
  exit 1
fi
echo "[build] embedding the site into target/release/hangar"
cargo build --release -p server --bin hangar
echo "[build] done in $((SECONDS - t0)) s"
