#!/usr/bin/env bash
# Every maestro-load scenario on one, two and three instances (shared private Redis and
# PostgreSQL behind postrust, started by `maestro-load cluster`), plus the baselines, in one
# run; JSON reports to target/bench/, SVG charts to docs/bench/. Needs release builds
# (`cargo build --release -p maestro-server -p maestro-load`), PostgreSQL, redis-server and
# postrust. Usage: bench/scale.sh [instances…]   (default: 1 2 3)
set -euo pipefail
cd "$(dirname "$0")/.."
LOAD=target/release/maestro-load
SERVER=target/release/maestro-server
OUT=target/bench
CHARTS=docs/bench
mkdir -p "$OUT" "$CHARTS"
if [ $# -gt 0 ]; then instances=("$@"); else instances=(1 2 3); fi

"$LOAD" baseline --requests 5000 --json | tee "$OUT/baseline.jsonl"

scenario() {
  local n=$1 name=$2
  shift 2
  "$LOAD" cluster --instances "$n" --server-bin "$SERVER" -- "$name" "$@" \
    --json --chart "$CHARTS/$name-$n.svg" | tee "$OUT/$name-$n.json"
}

for n in "${instances[@]}"; do
  scenario "$n" rest --workers 16 --requests 20000
  scenario "$n" fanout --clients 500 --mutations 50
  scenario "$n" mail --pairs 50 --mails 20
  scenario "$n" claims --rounds 200 --contenders 16
  scenario "$n" reconnect --clients 20 --events 300 --drops 3
  scenario "$n" presence --sessions 100 --kill 10
done
