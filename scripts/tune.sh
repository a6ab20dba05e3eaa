#!/usr/bin/env bash
# The per-machine tuning run (quick by default; pass --full for committed
# results). Everything after the script name goes to `pinbench tune`:
#   scripts/tune.sh                 # quick, about 3 minutes on 2 cores
#   scripts/tune.sh --full          # -count 10, longer runs, poll-window sweep
#   scripts/tune.sh --out /tmp/run  # write somewhere else than results/<machine-id>/<UTC time>-quick
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./cmd/pinbench tune "$@"
