#!/usr/bin/env bash
# Runs the product: server and UI on the built-in agent, at http://127.0.0.1:3000
# (LEPTOS_SITE_ADDR to change it). scripts/build.sh installs its tools on
# first use.
set -euo pipefail
cd "$(dirname "$0")"
scripts/build.sh
exec target/release/server "$@"
