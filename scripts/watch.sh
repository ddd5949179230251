#!/usr/bin/env bash
# The designers' loop: `cargo leptos watch` serves the site at
# http://127.0.0.1:3000 (the gallery at /gallery), swaps the stylesheet in
# the open page when style/main.css is saved, and rebuilds and reloads on a
# component change. cargo-leptos is installed on first use (about 15
# minutes on 2 cores); run.sh and test.sh do not need it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
need_wasm_target
need_wasm_bindgen
CARGO_LEPTOS_VERSION=0.3.10
if [[ "$(cargo leptos --version 2>/dev/null)" != *"$CARGO_LEPTOS_VERSION"* ]]; then
  echo "watch: installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes)" >&2
  cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi
# --split: the card's editors are `#[lazy]`; unsplit, their loader's import
# has nowhere to go and the page does not start.
exec cargo leptos watch --split "$@"
