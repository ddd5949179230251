#!/usr/bin/env bash
# Builds the release WebAssembly the way `cargo leptos build --release --split`
# does (same cargo profile, split, wasm-bindgen and wasm-opt flags) into its
# own target directory, and prints the main module's size raw, gzip -9 and
# brotli 11, then each lazy chunk's. Extra arguments
# go to cargo, so experiments need no edit: `scripts/wasm-size.sh --config ...`.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${WASM_SIZE_TARGET:-target/size}
source scripts/setup.sh

RUSTFLAGS="$WASM_RUSTFLAGS" \
LEPTOS_OUTPUT_NAME=hitl cargo build --package=frontend --lib --target-dir="$target" \
    --target=wasm32-unknown-unknown --no-default-features --profile=wasm-release "$@"
rm -rf "$target/pkg" && mkdir -p "$target/pkg"
pack_wasm "$target/wasm32-unknown-unknown/wasm-release/frontend.wasm" "$target/pkg"
node -e '
const fs = require("fs"), zlib = require("zlib");
const kib = (n) => (n / 1024).toFixed(1) + " KiB";
for (const file of process.argv.slice(1)) {
  const raw = fs.readFileSync(file);
  const gz = zlib.gzipSync(raw, { level: 9 }).length;
  const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.log(`${file.replace(/^.*\//, "")}: ${kib(raw.length)} raw, ${kib(gz)} gzip -9, ${kib(br)} brotli 11`);
}
' "$target/pkg/hitl.wasm" "$target"/pkg/split_*.wasm
