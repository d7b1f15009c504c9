#!/usr/bin/env bash
# Make this machine ready: a virtualenv with the project installed, RabbitMQ running.
# Sourced by deploy/up.sh and tests/run.sh; safe to run again (it only does what is missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="${1:-}"
PY="${PYTHON:-python3}"

if [ ! -x "$ROOT/.venv/bin/python" ]; then
  "$PY" -m venv "$ROOT/.venv"
fi
stamp="$ROOT/.venv/.installed${EXTRAS:+-$EXTRAS}"
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
  "$ROOT/.venv/bin/pip" install -q --upgrade pip
  "$ROOT/.venv/bin/pip" install -q -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  touch "$stamp"
fi

# Printable replies and audit reports (PDF) need a font with Persian glyphs.
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null || true
fi

# The web packages from the npm registry (deploy/npm/package.json): the Vazirmatn font the gateways
# serve, the Jalali date picker, axe-core for the browser tests. Installed into var/npm/node_modules
# (ignored by git), only when one is missing; without them pages fall back to DejaVu Sans.
# Always install through that package.json: `npm install --no-save <one>` there prunes the others.
NPM_DIR="$ROOT/var/npm"
npm_missing=""
for package in vazirmatn axe-core @majidh1/jalalidatepicker; do
  [ -f "$NPM_DIR/node_modules/$package/package.json" ] || npm_missing="$npm_missing $package"
done
if [ -n "$npm_missing" ] || ! cmp -s "$ROOT/deploy/npm/package.json" "$NPM_DIR/package.json"; then
  if command -v npm >/dev/null; then
    echo "installing web packages into var/npm:${npm_missing:- (package.json changed)}"
    mkdir -p "$NPM_DIR"
    cp "$ROOT/deploy/npm/package.json" "$NPM_DIR/package.json"
    npm install --prefix "$NPM_DIR" --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null \
      || echo "npm install failed: pages use the fallback font, the date picker and axe tests are unavailable" >&2
  else
    echo "npm is not installed: pages use the fallback font (apt-get install npm, then run this again)" >&2
  fi
fi

# RabbitMQ carries every RPC; start it when it is installed but stopped.
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  if command -v rabbitmq-server >/dev/null; then
    echo "starting RabbitMQ …"
    rabbitmq-server -detached
    for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
  else
    echo "RabbitMQ is not installed: apt-get install rabbitmq-server, or set AMQP_URI" >&2
  fi
fi
