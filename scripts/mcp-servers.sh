#!/usr/bin/env bash
# Installs the reference MCP servers the tests start (PyPI's mcp-server-time
# and mcp-server-fetch, npm's server-filesystem and server-everything) into
# target/mcp-servers, once, and prints the folder of their commands.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(cd "$here/.." && pwd)/target/mcp-servers"
say() { echo "mcp-servers: $*" >&2; }
mkdir -p "$out/bin"
if [[ ! -x "$out/venv/bin/mcp-server-fetch" || "$here/mcp-servers/requirements.txt" -nt "$out/venv" ]]; then
  say "installing the Python servers"
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/mcp-servers/requirements.txt" >&2
  touch "$out/venv"
fi
if [[ ! -d "$out/npm/node_modules" || "$here/mcp-servers/package.json" -nt "$out/npm/node_modules" ]]; then
  say "installing the npm servers"
  mkdir -p "$out/npm"
  cp "$here/mcp-servers/package.json" "$out/npm/"
  (cd "$out/npm" && npm install --silent --no-audit --no-fund >&2)
  touch "$out/npm/node_modules"
fi
for cmd in mcp-server-time mcp-server-fetch; do ln -sf "$out/venv/bin/$cmd" "$out/bin/$cmd"; done
# The Python that has the SDK, for the tests' own server (growing_tools.py).
rm -f "$out/bin/python-mcp"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$out/venv/bin/python" > "$out/bin/python-mcp"
chmod +x "$out/bin/python-mcp"
for cmd in mcp-server-filesystem mcp-server-everything; do ln -sf "$out/npm/node_modules/.bin/$cmd" "$out/bin/$cmd"; done
echo "$out/bin"
