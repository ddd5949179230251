#!/usr/bin/env bash
# Installs what building and testing need, skipping whatever is already
# there. Sourced by run.sh and test.sh; safe to run again. (cargo-leptos
# is for scripts/watch.sh alone, which installs it itself.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WASM_BINDGEN_VERSION=0.2.108   # must equal the `wasm-bindgen = "=..."` pin in Cargo.toml

say() { echo "setup: $*" >&2; }
export PATH="$HOME/.cargo/bin:$root/end2end/node_modules/.bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked
fi
# npm brings Playwright, axe-core and binaryen's wasm-opt (Debian's is too old).
if [[ ! -x "$root/end2end/node_modules/.bin/wasm-opt" || "$root/end2end/package.json" -nt "$root/end2end/node_modules" ]]; then
  say "installing npm packages in end2end/"
  (cd "$root/end2end" && npm install --no-audit --no-fund)
  touch "$root/end2end/node_modules"
fi
if [[ "${HITL_NEED_BROWSER:-0}" == 1 ]] && ! command -v chromium >/dev/null; then
  say "installing Chromium"
  if [[ $(id -u) == 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
fi
