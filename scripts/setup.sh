#!/usr/bin/env bash
# What building and testing need, each installed on first use and skipped
# when present. Sourced by run.sh, test.sh, build.sh and watch.sh; safe to
# source again. (cargo-leptos is for scripts/watch.sh alone.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WASM_BINDGEN_VERSION=0.2.108   # must equal the `wasm-bindgen = "=..."` pin in Cargo.toml
# Splits the WebAssembly at Leptos's `#[lazy]` functions; must understand the
# wasm_split_helpers version leptos uses (Cargo.lock).
WASM_SPLIT_VERSION=0.2.4

say() { echo "setup: $*" >&2; }
export PATH="$HOME/.cargo/bin:$root/end2end/node_modules/.bin:$PATH"

need_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

need_wasm_bindgen() {
  if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
    # Without default features: no TLS stack for a test runner we never use.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked --no-default-features
  fi
}

need_wasm_split() {
  # It has no --version: cargo's own list says which is installed.
  if ! cargo install --list | grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:"; then
    say "installing wasm-split-cli $WASM_SPLIT_VERSION (about 2 minutes)"
    cargo install wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --locked --features build-binary
  fi
}

# npm brings Playwright, axe-core and binaryen's wasm-opt (Debian's is too old).
need_npm() {
  if [[ ! -x "$root/end2end/node_modules/.bin/wasm-opt" || "$root/end2end/package.json" -nt "$root/end2end/node_modules" ]]; then
    say "installing npm packages in end2end/"
    (cd "$root/end2end" && npm install --no-audit --no-fund)
    touch "$root/end2end/node_modules"
  fi
}

need_chromium() {
  if ! command -v chromium >/dev/null; then
    say "installing Chromium"
    if [[ $(id -u) == 0 ]]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    fi
  fi
}

# The browser's module as `cargo leptos build --release --split` makes it,
# for scripts/build.sh and scripts/wasm-size.sh alike. --emit-relocs: the
# split needs the relocations to cut the module. RUSTFLAGS replaces
# .cargo/config.toml's rustflags, so it repeats them (without
# erase_components the module measured 319.8 KiB instead of 247).
WASM_RUSTFLAGS="--cfg erase_components -Clink-args=--emit-relocs"

# pack_wasm IN OUT: each split function's code (forms.rs) to a chunk of its
# own, fetched on its first call through __wasm_split.js, the rest to
# OUT/hitl.wasm, which is what a page loads; then wasm-bindgen, and
# wasm-opt on every piece. OUT must exist and be empty.
pack_wasm() {
  local in=$1 out=$2
  wasm-split-cli --target=web --out-name=hitl "$in" "$out"
  wasm-bindgen --target=web --no-typescript --keep-lld-exports --no-demangle \
      --out-name=hitl --out-dir="$out" "$out/hitl.wasm"
  rm "$out/hitl.wasm"
  # --converge: runs -Oz again until nothing shrinks (1.5 KiB of brotli).
  # --zero-filled-memory and --low-memory-unused state what holds for
  # rustc's output (a fresh module's memory is zeros; data starts past the
  # stack, at 1 MiB): 1.6 KiB more.
  local opt=(-Oz --converge --zero-filled-memory --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int)
  wasm-opt "${opt[@]}" "$out/hitl_bg.wasm" -o "$out/hitl.wasm"
  rm "$out/hitl_bg.wasm"
  local chunk
  for chunk in "$out"/*.wasm; do
    [[ $chunk == "$out/hitl.wasm" ]] || wasm-opt "${opt[@]}" "$chunk" -o "$chunk"
  done
}
