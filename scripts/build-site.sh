#!/usr/bin/env bash
# Builds target/site (WASM bundle, CSS, public files, vendored browser libraries), which the `hangar` binary embeds.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
PROFILE="${WASM_PROFILE:-wasm-release}"
SITE=target/site
STAGE=target/site-stage

t0=$SECONDS
echo "[site] compiling the UI to WASM and our wasm-bindgen alongside (first time: ~5 min alone, ~8 min beside the server; after an edit: ~2 min)"
# wasm-bindgen's JS glue comes from scripts/site-bindgen, built from the workspace's lock file (so it always
# matches the wasm-bindgen the UI links); it builds on the core the UI's last, single-threaded step leaves idle.
cargo build --quiet -p site-bindgen --profile site-tools &
bindgen_build=$!
# Stopped or failed, this script takes the tool's build with it.
trap 'kill "$bindgen_build" 2>/dev/null || true' EXIT
cargo build -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate --profile "$PROFILE"
wait "$bindgen_build"
trap - EXIT
rm -rf "$STAGE" && mkdir -p "$STAGE/pkg"
# The glue and wasm-opt (~15 s) run again only when the compiled WASM changed: PKG keeps their
# result with the checksum of the WASM it came from.
WASM="target/wasm32-unknown-unknown/$PROFILE/app.wasm"
PKG="target/site-pkg-$PROFILE"
want="$(sha256sum "$WASM" | cut -d' ' -f1) opt=${WASM_OPT:-1} level=O1"
if [[ "$(cat "$PKG/from" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$PKG" && mkdir -p "$PKG"
  target/site-tools/site-bindgen "$WASM" "$PKG" hangar
  if [[ "${WASM_OPT:-1}" == 1 ]]; then
    echo "[site] optimizing the WASM with wasm-opt -O1 (~15 s)"
    # npm's binaryen: Debian's older wasm-opt produces a bundle that fails to hydrate. -O1, not -Oz: the site is
    # sent gzipped, and gzipped -O1 is smaller (1.02 MB, 5.3 MB raw) than gzipped -Oz (1.16 MB, 3.7 MB raw) while
    # taking 15 s instead of 65 s.
    node_modules/.bin/wasm-opt -O1 --enable-bulk-memory --enable-nontrapping-float-to-int \
      "$PKG/hangar_bg.wasm" -o "$PKG/hangar_bg.opt.wasm"
    mv "$PKG/hangar_bg.opt.wasm" "$PKG/hangar_bg.wasm"
  fi
  echo "$want" >"$PKG/from"
fi
cp "$PKG/hangar.js" "$PKG/hangar_bg.wasm" "$STAGE/pkg/"
mkdir -p "$STAGE/style" "$STAGE/vendor/swagger-ui" "$STAGE/vendor/tus"
cp node_modules/tus-js-client/dist/tus.min.js "$STAGE/vendor/tus/"
# noVNC is native ES modules with relative imports: its core and vendored helpers keep their layout.
mkdir -p "$STAGE/vendor/novnc" "$STAGE/vendor/xterm"
cp -r node_modules/@novnc/novnc/core node_modules/@novnc/novnc/vendor "$STAGE/vendor/novnc/"
cp node_modules/@xterm/xterm/lib/xterm.mjs node_modules/@xterm/xterm/css/xterm.css \
  node_modules/@xterm/addon-fit/lib/addon-fit.mjs "$STAGE/vendor/xterm/"
cp style/*.css "$STAGE/style/"
cp -r public/. "$STAGE/"
for f in swagger-ui-bundle.js swagger-ui.css; do
  cp "node_modules/swagger-ui-dist/$f" "$STAGE/vendor/swagger-ui/"
done

# A gzip copy of each text file and of the WASM, which the server sends to browsers that take gzip (the WASM:
# 5.3 MB, 1.0 MB gzipped). -n leaves the name and time out, so an unchanged file gives the same copy.
find "$STAGE" -type f -size +1k \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' -o -name '*.css' -o -name '*.svg' \) \
  -exec gzip -9 -n -k {} +

# The list of files is embedded too: adding or removing a file changes it, which rebuilds the binary's crate.
(cd "$STAGE" && find . -type f | LC_ALL=C sort) >target/site-files.txt && mv target/site-files.txt "$STAGE/"

# Copy only what changed, so an unchanged site does not rebuild the server.
mkdir -p "$SITE"
(cd "$STAGE" && find . -type f) | while read -r f; do
  if ! cmp -s "$STAGE/$f" "$SITE/$f"; then
    mkdir -p "$(dirname "$SITE/$f")"
    cp "$STAGE/$f" "$SITE/$f"
  fi
done
(cd "$SITE" && find . -type f) | while read -r f; do
  [[ -e "$STAGE/$f" ]] || rm -f "$SITE/$f"
done
echo "[site] $(du -sh "$SITE" | cut -f1) in $SITE (wasm $(du -h "$SITE/pkg/hangar_bg.wasm" | cut -f1)), $((SECONDS - t0)) s"
