#!/usr/bin/env bash
# The one test command (README, CI): installs what a fresh machine lacks, then runs
# formatting, lints and the whole test suite. Tests start their own redis-server on a free
# port; they never use a Redis that happens to be running.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# systemd-analyze checks the unit files (tests/it/ops/units.rs). Installed when apt-get is
# at hand; otherwise that test prints "SKIPPED … systemd-analyze is not installed".
if ! command -v systemd-analyze >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "== installing systemd (for systemd-analyze verify)"
    { as_root apt-get update -qq \
      && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null; } \
      || echo "== could not install systemd: the unit-file check will be skipped"
  else
    echo "== no systemd-analyze and no apt-get: the unit-file check will be skipped"
  fi
fi
# Headless Chromium and its WebDriver for the dashboard's browser tests (tests/it/dashboard.rs);
# without them those tests print "SKIPPED … chromium is not installed".
if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium and chromium-driver (browser tests of the dashboard)"
    { as_root apt-get update -qq \
      && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
      || echo "== could not install chromium: the dashboard's browser tests will be skipped"
  else
    echo "== no chromium and no apt-get: the dashboard's browser tests will be skipped"
  fi
fi
# The Python MCP SDK is an outside client the suite drives (skipped with a note if absent).
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import mcp' 2>/dev/null; then
  echo "== installing the Python mcp SDK"
  python3 -m pip install -q mcp 2>/dev/null || echo "   (could not install it; its test will be skipped)"
fi
# Real Claude Code for the end-to-end tests (tests/it/claude_code, against a scripted model;
# no login or network needed). Without npm those tests print "SKIPPED …".
CLAUDE_CODE_VERSION=2.1.330
if ! claude --version 2>/dev/null | grep -q "^${CLAUDE_CODE_VERSION} "; then
  if command -v npm >/dev/null 2>&1; then
    echo "== installing Claude Code ${CLAUDE_CODE_VERSION} (npm)"
    npm install -g --no-fund --no-audit --loglevel=error "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" >/dev/null \
      || echo "   (could not install it; the Claude Code tests will be skipped)"
    # The package's postinstall links the native binary; if npm skipped install scripts, run it.
    if ! claude --version >/dev/null 2>&1; then
      pkg="$(npm root -g)/@anthropic-ai/claude-code"
      [ -f "$pkg/install.cjs" ] && (cd "$pkg" && node install.cjs >/dev/null 2>&1) || true
    fi
  else
    echo "== no npm: the Claude Code end-to-end tests will be skipped"
  fi
fi
# The real task-master CLI (npm task-master-ai) for the TaskMaster interop test
# (tests/it/taskmaster_cli.rs). About 1.4 GB and a minute to install here, so it goes into a
# cache later runs reuse; MCP_COORD_TEST_TASKMASTER=0 leaves it out (the test prints SKIPPED).
TASKMASTER_VERSION=0.43.1
TASKMASTER_CACHE="${HOME}/.cache/mcp-coord-test/task-master"
if [ "${MCP_COORD_TEST_TASKMASTER:-1}" != 0 ] \
  && ! grep -q "\"version\": \"${TASKMASTER_VERSION}\"" "$TASKMASTER_CACHE/node_modules/task-master-ai/package.json" 2>/dev/null; then
  if command -v npm >/dev/null 2>&1; then
    echo "== installing task-master-ai ${TASKMASTER_VERSION} into ${TASKMASTER_CACHE} (npm)"
    npm install --prefix "$TASKMASTER_CACHE" --no-fund --no-audit --loglevel=error \
      "task-master-ai@${TASKMASTER_VERSION}" >/dev/null \
      || echo "   (could not install it; the task-master interop test will be skipped)"
  else
    echo "== no npm: the task-master interop test will be skipped"
  fi
fi
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^${component}" || rustup component add "$component"
done

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --all-targets
