#!/usr/bin/env bash
# Installs what building (and, with --test, testing) Hangar needs. Idempotent: seconds when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pin in Cargo.toml
want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it with rustup (https://rustup.rs) and run this again." >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"

if [[ "$(rustup target list --installed)" != *wasm32-unknown-unknown* ]]; then
  log "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Not --locked: its lock file wants crates this registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

apt_pkgs=()
command -v node >/dev/null || apt_pkgs+=(nodejs npm)
command -v pkg-config >/dev/null || apt_pkgs+=(pkg-config)
if [[ $want_test == 1 ]] && [[ ! -x /usr/bin/chromium ]]; then apt_pkgs+=(chromium); fi
if (( ${#apt_pkgs[@]} )); then
  log "installing ${apt_pkgs[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}"
fi

# Browser libraries, wasm-opt and Playwright come from npm; reinstall only when the lock file changed.
if [[ ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
# libvirt: the daemon (and libvirt-dev, which the build links against). Tests also get the tiny guest and host2.
if [[ $want_test == 1 ]]; then
  scripts/libvirt-env.sh up
else
  scripts/libvirt-env.sh local || log "libvirt could not be started here: Hangar will register libvirt's demo host"
fi
log "ready"
