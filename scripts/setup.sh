#!/usr/bin/env bash
# Installs what building (and, with --test, testing) Hangar needs. Idempotent: seconds when all is there.
#   setup.sh           build tools and the local libvirt daemon
#   setup.sh --test    that, plus what the tests need (Chromium, Python clients, the test guests and host2)
#   setup.sh --tools   build tools only (what the site needs)        } scripts/build.sh runs these two at once:
#   setup.sh --libvirt the local libvirt daemon (and libvirt-dev)    } the site compiles while apt works
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0 want_tools=1 want_libvirt=1
case "${1:-}" in
  --test) want_test=1 ;;
  --tools) want_libvirt=0 ;;
  --libvirt) want_tools=0 ;;
  "") ;;
  *) echo "usage: $0 [--test | --tools | --libvirt]" >&2; exit 2 ;;
esac

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

if [[ $want_tools == 1 ]] && [[ "$(rustup target list --installed)" != *wasm32-unknown-unknown* ]]; then
  step "adding the wasm32 target" "~20 s" rustup target add wasm32-unknown-unknown
fi

apt_pkgs=()
if [[ $want_tools == 1 ]]; then
  command -v node >/dev/null || apt_pkgs+=(nodejs npm)
  command -v pkg-config >/dev/null || apt_pkgs+=(pkg-config)
fi
if [[ $want_test == 1 ]] && [[ ! -x /usr/bin/chromium ]]; then apt_pkgs+=(chromium); fi
if (( ${#apt_pkgs[@]} )); then
  apt_install() {
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}"
  }
  step "installing ${apt_pkgs[*]}" "~1 min" apt_install
fi

# Browser libraries, wasm-opt and Playwright come from npm; reinstall only when the lock file changed.
if [[ $want_tools == 1 ]] && { [[ ! -f node_modules/.package-lock.json ]] ||
  [[ package-lock.json -nt node_modules/.package-lock.json ]]; }; then
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
elif [[ $want_libvirt == 1 ]]; then
  step "the local libvirt daemon" "~2 min" scripts/libvirt-env.sh local ||
    log "libvirt could not be started here: Hangar will register libvirt's demo host"
fi
log "ready"
