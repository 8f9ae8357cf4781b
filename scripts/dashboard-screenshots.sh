#!/usr/bin/env bash
# Retakes the dashboard screenshots in docs/ (dashboard-light.png, dashboard-dark.png) with
# the browser test, which builds a small swarm through MCP first. Needs chromium and
# chromium-driver (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
DASHBOARD_SCREENSHOTS="$PWD/docs" cargo test --test it \
  dashboard::the_dashboard_shows_the_swarm_live_in_a_real_browser -- --exact --nocapture
