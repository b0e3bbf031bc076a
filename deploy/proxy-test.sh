#!/usr/bin/env bash
# Tests deploy/haproxy/haproxy.cfg: Debian's HAProxy in front of two `incident-env serve`
# replicas on loopback ports, driven by real clients (deploy/test_proxy.py: WebSocket
# sessions, HTTP with and without cookies, MCP sessions, health checks). Installs HAProxy
# with apt (as root) when it is missing, and a venv with pytest and websockets under
# ${CARGO_TARGET_DIR:-target}/proxy-venv (reused; delete it to reinstall). Fails loudly
# when an install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET_DIR/proxy-venv"
PACKAGES="pytest==9.2.0 websockets==17.4"

if ! command -v haproxy >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL: haproxy is missing; install Debian's haproxy package (as root)"; exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi
haproxy -v | sed -n 1p

if ! { [ -f "$VENV/.complete" ] && [ "$(cat "$VENV/.complete")" = "$PACKAGES" ]; }; then
  echo "proxy-test: creating $VENV with $PACKAGES"
  rm -rf "$VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --retries 3 $PACKAGES
  echo "$PACKAGES" >"$VENV/.complete"
fi

cargo build --release -q -p incident-host --bin incident-env
INCIDENT_ENV_BIN="$TARGET_DIR/release/incident-env" HAPROXY_BIN="$(command -v haproxy)" \
  timeout 300 "$VENV/bin/pytest" -q -p no:cacheprovider deploy/test_proxy.py
