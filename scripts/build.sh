#!/usr/bin/env bash
# Builds what `cargo leptos build --release` builds, without cargo-leptos
# (which takes 15 minutes to install; `cargo leptos watch` still uses it):
# the server binary, and the site in target/site/pkg (hitl.js, hitl.wasm,
# hitl.css), each asset with a brotli-11 copy beside it that the server
# sends as it is. Usage: scripts/build.sh [server|site|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
PATH="$HOME/.cargo/bin:$PWD/end2end/node_modules/.bin:$PATH"

if [[ $what == all || $what == server ]]; then
  cargo build --release --locked -p server
fi
if [[ $what == all || $what == site ]]; then
  # The flags cargo-leptos passes (BENCHMARKS.md: the same bytes).
  cargo build --locked --package=frontend --lib --target=wasm32-unknown-unknown \
      --no-default-features --profile=wasm-release
  out=target/site/pkg.new
  rm -rf "$out" && mkdir -p "$out"
  wasm-bindgen --target=web --no-typescript --out-name=hitl --out-dir="$out" \
      target/wasm32-unknown-unknown/wasm-release/frontend.wasm
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      "$out/hitl_bg.wasm" -o "$out/hitl.wasm"
  rm "$out/hitl_bg.wasm"
  cp style/main.css "$out/hitl.css"
  node scripts/brotli.mjs "$out/hitl.wasm" "$out/hitl.js" "$out/hitl.css"
  # Swapped in whole: a server running meanwhile never sees half a site.
  rm -rf target/site/pkg && mv "$out" target/site/pkg
fi
