#!/usr/bin/env bash
# Runs test binaries again and again, each run after the last, and records every run: the
# check that timing-sensitive tests do not flake on a loaded machine (issue 26).
#
#   bench/stress-tests.sh RUNS PACKAGE:TEST [PACKAGE:TEST ...]
#   e.g. bench/stress-tests.sh 20 maestro-memory:contract maestro-redis:contract
#
# The binaries are built once (`cargo test --no-run`) and then run directly, so that no cargo
# lock is held while they run and a build elsewhere can load the machine meanwhile (the issue's
# condition: `cargo build --release` in another checkout). CI=1 is set: nothing may skip.
# One line per run goes to stdout and to target/stress/runs.tsv:
#   <test> <run> <pass|FAIL> <seconds>
# A failing run's output is kept in target/stress/<test>-<run>.log. Exit status 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:?usage: $0 RUNS PACKAGE:TEST...}
shift
out=$PWD/target/stress
mkdir -p "$out"
declare -A bin dir
# One workspace build (per-package builds would unify features differently and rebuild).
cargo test --workspace --no-run --message-format=json 2>/dev/null >"$out/artifacts.json"
for spec in "$@"; do
  pkg=${spec%%:*} test=${spec#*:}
  read -r exe manifest < <(python3 - "$out/artifacts.json" "$pkg" "$test" <<'PY'
import json, sys
path, pkg, test = sys.argv[1:]
for line in open(path):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    t = m.get("target", {})
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and t.get("name") == test and "test" in t.get("kind", [])
            and m.get("manifest_path", "").endswith(f"/{pkg}/Cargo.toml")):
        print(m["executable"], m["manifest_path"])
        break
PY
  )
  [ -n "${exe:-}" ] && [ -x "$exe" ] || { echo "no test binary for $spec" >&2; exit 2; }
  bin[$spec]=$exe
  dir[$spec]=$(dirname "$manifest")
done
failed=0
for run in $(seq 1 "$runs"); do
  for spec in "$@"; do
    name=${spec//:/-}
    started=$(date +%s.%N)
    if (cd "${dir[$spec]}" && CI=1 "${bin[$spec]}" >"$out/$name-$run.log" 2>&1); then
      result=pass
      rm -f "$out/$name-$run.log"
    else
      result=FAIL
      failed=1
    fi
    secs=$(echo "$(date +%s.%N) - $started" | bc)
    printf '%s\t%s\t%s\t%.1f\n' "$spec" "$run" "$result" "$secs" | tee -a "$out/runs.tsv"
  done
done
exit "$failed"
