#!/usr/bin/env bash
# Runs every test: the protocol and server suites over real sockets (with
# storage on SQLite and on a local PostgreSQL), the UI's model, then
# Playwright in a real Chromium against the release build. Installs its
# tools, PostgreSQL included, on first use.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
need_npm
need_chromium
df -h . | tail -1 | awk '{print "== disk: " $4 " free"}'

echo "== PostgreSQL for the storage tests (scripts/postgres.sh)"
HITL_TEST_POSTGRES_URL="$(scripts/postgres.sh)"
export HITL_TEST_POSTGRES_URL

echo "== reference MCP servers for the agent's tool tests (scripts/mcp-servers.sh)"
HITL_TEST_MCP_BIN="$(scripts/mcp-servers.sh)"
export HITL_TEST_MCP_BIN

echo "== protocol, server and app tests (cargo test)"
# Per package: `--workspace` would unify the app's ssr and hydrate features.
cargo test -p protocol
cargo test -p server
cargo test -p app --features ssr

echo "== release build (scripts/build.sh: the server and the site)"
scripts/build.sh

echo "== end-to-end (Playwright, system Chromium)"
cd end2end
npx playwright test
