#!/usr/bin/env bash
# Start mcp-coord: the seed's entry point, for machines without systemd (or before you
# install the unit with `mcp-coord install-service`).
#
#   scripts/start-server.sh [serve flags…]            foreground (Ctrl-C stops it)
#   scripts/start-server.sh --daemon [serve flags…]   background, with a pid file and a log file
#   scripts/start-server.sh --stop                    stop the background daemon
#   scripts/start-server.sh --status                  is it running?
#
# Builds `cargo build --release` first when the binary is missing or older than the sources.
# Settings come as for `mcp-coord serve`: config/default.toml, .env, environment, flags.
#
# Environment (script only):
#   MCP_COORD_BIN       binary to run (skips the build); default target/release/mcp-coord
#   MCP_COORD_PID_FILE  default ${XDG_STATE_HOME:-$HOME/.local/state}/mcp-coord/mcp-coord.pid
#   MCP_COORD_LOG_FILE  default ${XDG_STATE_HOME:-$HOME/.local/state}/mcp-coord/mcp-coord.log
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

state_dir="${XDG_STATE_HOME:-$HOME/.local/state}/mcp-coord"
pid_file="${MCP_COORD_PID_FILE:-$state_dir/mcp-coord.pid}"
log_file="${MCP_COORD_LOG_FILE:-$state_dir/mcp-coord.log}"

die() { echo "start-server: $*" >&2; exit 1; }

# The pid in the pid file, if that process is alive.
running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

binary() {
  if [ -n "${MCP_COORD_BIN:-}" ]; then
    [ -x "$MCP_COORD_BIN" ] || die "MCP_COORD_BIN=$MCP_COORD_BIN is not an executable file"
    echo "$MCP_COORD_BIN"
    return
  fi
  local bin="${CARGO_TARGET_DIR:-$repo/target}/release/mcp-coord"
  if [ ! -x "$bin" ] || [ -n "$(find "$repo/src" "$repo/Cargo.toml" "$repo/Cargo.lock" "$repo/deploy" -newer "$bin" -print -quit 2>/dev/null)" ]; then
    echo "start-server: building (cargo build --release)…" >&2
    (cd "$repo" && cargo build --release --quiet) || die "build failed"
  fi
  echo "$bin"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    echo "mcp-coord is not running (no live pid in $pid_file)"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; echo "stopped mcp-coord (pid $pid)"; return 0; }
    sleep 0.1
  done
  die "pid $pid did not stop within 10 s after SIGTERM; see $log_file (kill -KILL $pid forces it)"
}

case "${1:-}" in
  --stop)
    stop
    ;;
  --status)
    if pid="$(running_pid)"; then echo "mcp-coord is running (pid $pid, log $log_file)"; else echo "mcp-coord is not running"; exit 3; fi
    ;;
  --daemon)
    shift
    if pid="$(running_pid)"; then
      die "already running (pid $pid from $pid_file); stop it first: $0 --stop"
    fi
    bin="$(binary)"
    mkdir -p "$(dirname "$pid_file")" "$(dirname "$log_file")"
    # Only lines written after this point count as this start's (the log is appended to).
    log_start=$(( $( (stat -c %s "$log_file" 2>/dev/null) || echo 0) + 1 ))
    # setsid: the daemon survives this shell and its terminal; stdin from /dev/null.
    cd "$repo"
    setsid "$bin" serve "$@" </dev/null >>"$log_file" 2>&1 &
    pid=$!
    echo "$pid" >"$pid_file"
    # Wait for the start line (or an early exit) so errors show here, not later.
    for _ in $(seq 1 100); do
      if ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$pid_file"
        echo "start-server: mcp-coord exited during start; its log ($log_file):" >&2
        tail -c +"$log_start" "$log_file" | tail -n 20 >&2
        exit 1
      fi
      if tail -c +"$log_start" "$log_file" | grep -q "listening on"; then
        echo "mcp-coord running in the background (pid $pid); log: $log_file; stop: $0 --stop"
        exit 0
      fi
      sleep 0.1
    done
    echo "start-server: mcp-coord (pid $pid) has not logged its start line within 10 s; see $log_file" >&2
    exit 1
    ;;
  *)
    bin="$(binary)"
    cd "$repo"
    exec "$bin" serve "$@"
    ;;
esac
