#!/usr/bin/env bash
# Installs what building (and, with --test, testing) Hangar needs. Idempotent: seconds when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pin in Cargo.toml
want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
# step "what" "how long the first time" command…: says what it does, runs it, says how long it took.
step() {
  local what=$1 first=$2 t0=$SECONDS
  shift 2
  log "$what (first time: $first)"
  "$@"
  log "  $what: done in $((SECONDS - t0)) s"
}
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it with rustup (https://rustup.rs) and run this again." >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"

if [[ "$(rustup target list --installed)" != *wasm32-unknown-unknown* ]]; then
  step "adding the wasm32 target" "~20 s" rustup target add wasm32-unknown-unknown
fi

if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  # Not --locked: its lock file wants crates this registry mirror lacks. A tool run a few seconds per build needs
  # no full optimisation: opt-level 1 without LTO compiles faster.
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION" "~3 min" \
    env CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

apt_pkgs=()
command -v node >/dev/null || apt_pkgs+=(nodejs npm)
command -v pkg-config >/dev/null || apt_pkgs+=(pkg-config)
if [[ $want_test == 1 ]] && [[ ! -x /usr/bin/chromium ]]; then apt_pkgs+=(chromium); fi
if (( ${#apt_pkgs[@]} )); then
  apt_install() {
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}"
  }
  step "installing ${apt_pkgs[*]}" "~1 min" apt_install
fi

# Browser libraries, wasm-opt and Playwright come from npm; reinstall only when the lock file changed.
if [[ ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  step "installing npm packages" "~30 s" npm ci --no-audit --no-fund --loglevel=error
fi
# tuspy, a tus client that is not ours, for the protocol tests (with --test only).
if [[ $want_test == 1 ]] && ! python3 -c 'import tusclient' 2>/dev/null; then
  step "installing tuspy (a Python tus client) for tests" "~10 s" \
    python3 -m pip install --quiet --disable-pip-version-check tuspy==1.1.0
fi
# aiosmtpd (a real SMTP server that can demand STARTTLS) and prometheus-client's parser, for the monitoring tests.
if [[ $want_test == 1 ]] && ! python3 -c 'import aiosmtpd, prometheus_client' 2>/dev/null; then
  step "installing aiosmtpd and prometheus-client for tests" "~10 s" \
    python3 -m pip install --quiet --disable-pip-version-check aiosmtpd==1.4.6 prometheus-client==0.21.1
fi
# libvirt: the daemon (and libvirt-dev, which the build links against). Tests also get the tiny guest and host2.
if [[ $want_test == 1 ]]; then
  step "libvirt, the test guest and the second host" "~3 min" scripts/libvirt-env.sh up
  # Cached outside the repository: built once per machine.
  step "a Debian template with real cloud-init" "~3 min the first time" scripts/libvirt-env.sh debian-template
else
  step "the local libvirt daemon" "~2 min" scripts/libvirt-env.sh local ||
    log "libvirt could not be started here: Hangar will register libvirt's demo host"
fi
log "ready"
