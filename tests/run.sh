#!/usr/bin/env bash
# The whole test suite: lint, types, event schemas, then unit, contract and integration tests
# against the machine's real RabbitMQ and PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/deploy/bootstrap.sh" test
cd "$ROOT"

# Debian's Chromium drives the end-to-end tests.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
# Poppler's pdftotext reads printed replies back as a reader copies them.
if [ ! -x /usr/bin/pdftotext ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
fi

# PostgreSQL backs the contract and integration tests; start it when it is installed but stopped.
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m contracts.schemas --check
.venv/bin/pytest "$@"
