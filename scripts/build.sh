#!/usr/bin/env bash
# Builds what `cargo leptos build --release` builds, without cargo-leptos
# (which takes 15 minutes to install; `cargo leptos watch` still uses it):
# the server binary, and the site in target/site/pkg (hitl.js, hitl.wasm,
# hitl.css), each asset with a brotli-11 copy beside it that the server
# sends as it is. Usage: scripts/build.sh [server|site|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
source scripts/setup.sh

server() {
  cargo build --release --locked -p server
}

site() {
  need_wasm_target
  # The tools are needed only once the WebAssembly is compiled: installed
  # meanwhile, on a fresh machine they cost no wall time of their own.
  { need_wasm_bindgen && need_wasm_split && need_npm; } & local tools_pid=$!
  # The flags and the target directory cargo-leptos uses; its own
  # directory lets it build beside the server.
  local build_rc=0
  RUSTFLAGS="$WASM_RUSTFLAGS" \
  cargo build --locked --package=frontend --lib --target=wasm32-unknown-unknown \
      --no-default-features --profile=wasm-release --target-dir=target/front || build_rc=$?
  wait "$tools_pid"
  (( build_rc == 0 )) || return "$build_rc"
  local out=target/site/pkg.new
  rm -rf "$out" && mkdir -p "$out"
  pack_wasm target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm "$out"
  cp style/main.css "$out/hitl.css"
  node scripts/brotli.mjs "$out"/*.wasm "$out"/*.js "$out/hitl.css"
  # Swapped in whole: a server running meanwhile never sees half a site.
  rm -rf target/site/pkg && mv "$out" target/site/pkg
}

case $what in
  server) server ;;
  site) site ;;
  all)
    # At once: the server's link and LTO run on one core, and the
    # WebAssembly and its tools fill the other (measured in README.md).
    site & site_pid=$!
    server_rc=0; server || server_rc=$?
    site_rc=0; wait "$site_pid" || site_rc=$?
    if (( server_rc || site_rc )); then
      echo "build: failed (server exit $server_rc, site exit $site_rc)" >&2
      exit 1
    fi
    ;;
  *) echo "usage: scripts/build.sh [server|site|all]" >&2; exit 2 ;;
esac
