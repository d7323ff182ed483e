#!/usr/bin/env bash
# REST throughput on the FileSystem adapters (issue 4): 1 project, 1,000 tasks, then
# `wrk -t2 -c64` on GET /api/tasks/:id, GET /api/tasks?projectId=, POST /api/tasks.
# Loopback only; each run is bounded by DURATION. Usage: tests/bench/rest-wrk.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-15s}
BIN=${BIN:-target/release/maestro-server}
[ -x "$BIN" ] || cargo build --release -p maestro-server   # BIN=… compares another build
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 1; }
DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG_LEVEL=warn DATA_DIR="$DIR/data" PORT=$PORT "$BIN" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
URL=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do curl -sf "$URL/health" >/dev/null && break; sleep 0.1; done
PROJECT_ID=$(curl -sf -XPOST "$URL/api/projects" -H 'content-type: application/json' \
  -d '{"name":"bench","workingDir":"/tmp"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
export PROJECT_ID URL
python3 - <<'PY'
import json, os, urllib.request, concurrent.futures as cf
url, pid = os.environ["URL"], os.environ["PROJECT_ID"]
def make(i):
    req = urllib.request.Request(f"{url}/api/tasks", method="POST",
        data=json.dumps({"projectId": pid, "title": f"task {i}", "description": "x" * 200}).encode(),
        headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req))["id"]
with cf.ThreadPoolExecutor(8) as ex:
    ids = list(ex.map(make, range(1000)))
open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "maestro-bench-task-id"), "w").write(ids[500])
PY
TASK_ID=$(cat "${TMPDIR:-/tmp}/maestro-bench-task-id")
# The server's CPU time (user + system, from /proc) per request served: steadier than req/s
# when wrk shares the machine's two cores with the server.
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
run() {
  local before out after n
  before=$(cpu)
  out=$(wrk -t2 -c64 -d"$DURATION" "$@")
  after=$(cpu)
  echo "$out"
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  python3 -c "print(f'server CPU per request: {($after - $before) * 1e6 / $(getconf CLK_TCK) / $n:.1f} us')"
}
echo "== GET /api/tasks/:id"
run "$URL/api/tasks/$TASK_ID"
echo "== GET /api/tasks?projectId= (1,000 tasks)"
run "$URL/api/tasks?projectId=$PROJECT_ID"
echo "== POST /api/tasks (durable: fsync per write)"
run -s tests/bench/post-task.lua "$URL/api/tasks"
