#!/usr/bin/env bash
# Builds the release WebAssembly the way `cargo leptos build --release` does
# (same cargo profile, wasm-bindgen and wasm-opt flags) into its own target
# directory, and prints its size raw, gzip -9 and brotli 11. Extra arguments
# go to cargo, so experiments need no edit: `scripts/wasm-size.sh --config ...`.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${WASM_SIZE_TARGET:-target/size}
PATH="$PWD/end2end/node_modules/.bin:$PATH"

LEPTOS_OUTPUT_NAME=hitl cargo build --package=frontend --lib --target-dir="$target" \
    --target=wasm32-unknown-unknown --no-default-features --profile=wasm-release "$@"
wasm-bindgen --target=web --out-name=hitl --out-dir="$target/pkg" \
    "$target/wasm32-unknown-unknown/wasm-release/frontend.wasm"
wasm-opt -Oz --converge --zero-filled-memory --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$target/pkg/hitl_bg.wasm" -o "$target/pkg/hitl.wasm"
node -e '
const fs = require("fs"), zlib = require("zlib");
const raw = fs.readFileSync(process.argv[1]);
const gz = zlib.gzipSync(raw, { level: 9 }).length;
const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const kib = (n) => (n / 1024).toFixed(1) + " KiB";
console.log(`wasm: ${kib(raw.length)} raw, ${kib(gz)} gzip -9, ${kib(br)} brotli 11`);
' "$target/pkg/hitl.wasm"
