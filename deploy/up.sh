#!/usr/bin/env bash
# Run the whole desk on this machine (SQLite under ./var unless DATABASE_URL/EVENTSTORE_URL are set).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/deploy/bootstrap.sh"
cd "$ROOT"
exec .venv/bin/python -m deploy.run "$@"
