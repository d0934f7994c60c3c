#!/usr/bin/env bash
# compile_time.sh — gradc's JIT compile time and training-step time per model.
#
# For every model (default: examples/*.nn and bench/*.nn), REPS times over
# (interleaved: model 1, model 2, ..., then again), it runs
#   gradc bench MODEL --steps STEPS --threads THREADS --json
# then the same with --steps 1 --warmup 0 under /usr/bin/time, and prints
# one line per model: the medians over the repetitions of compile_ms (parse
# to callable machine code, wall time), of cpu_s (the user + system CPU
# seconds of the one-step run: compile and one step; on a shared machine
# the wall time stretches with the load, the CPU time much less) and of
# step_ms (each run's median step), with their ranges.
#
# Usage: bench/compile_time.sh [MODEL.nn...]
# Environment: GRADC (default build/tools/gradc), REPS (default 3), STEPS
# (default 20), THREADS (default 1), BENCH_ARGS (more bench options).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
GRADC=${GRADC:-$root/build/tools/gradc}
REPS=${REPS:-3}
STEPS=${STEPS:-20}
THREADS=${THREADS:-1}
[ -x "$GRADC" ] || { echo "compile_time: no gradc at $GRADC (build first)" >&2; exit 1; }

if [ $# -gt 0 ]; then
  models=("$@")
else
  models=()
  for m in "$root"/examples/*.nn "$root"/bench/*.nn; do
    models+=("${m#"$root"/}")
  done
fi

raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
for rep in $(seq 1 "$REPS"); do
  for m in "${models[@]}"; do
    key=$(echo "$m" | tr '/' '_')
    # shellcheck disable=SC2086
    if ! (cd "$root" && "$GRADC" bench "$m" --steps "$STEPS" --threads "$THREADS" \
        ${BENCH_ARGS:-} --json) >"$raw/$key.$rep.json" 2>"$raw/err"; then
      cat "$raw/err" >&2
      exit 1
    fi
    if ! (cd "$root" && /usr/bin/time -f '%U %S' -o "$raw/$key.$rep.cpu" "$GRADC" bench "$m" \
        --steps 1 --warmup 0 --threads "$THREADS" ${BENCH_ARGS:-}) >/dev/null 2>"$raw/err"; then
      cat "$raw/err" >&2
      exit 1
    fi
  done
done

echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $("$GRADC" --version); $REPS runs each," \
  "--threads $THREADS --steps $STEPS"
python3 - "$raw" "${models[@]}" <<'EOF'
import glob, json, statistics, sys

raw, models = sys.argv[1], sys.argv[2:]
print(f"{'model':28} {'compile_ms':>10} {'(range)':>13} {'cpu_s':>6} {'(range)':>11} "
      f"{'step_ms':>9} {'(range)':>19}")
for m in models:
    key = m.replace("/", "_")
    runs = []
    for p in sorted(glob.glob(f"{raw}/{key}.*.json")):
        with open(p) as f:
            runs.append(json.loads(f.read().strip().splitlines()[-1]))
    cpu = []
    for p in sorted(glob.glob(f"{raw}/{key}.*.cpu")):
        with open(p) as f:
            cpu.append(sum(float(x) for x in f.read().split()[-2:]))
    c = [r["compile_ms"] for r in runs]
    s = [r["step_ms"] for r in runs]
    print(f"{m:28} {statistics.median(c):10.0f} {min(c):6.0f}-{max(c):<6.0f} "
          f"{statistics.median(cpu):6.2f} {min(cpu):5.2f}-{max(cpu):<5.2f} "
          f"{statistics.median(s):9.4g} {min(s):9.4g}-{max(s):<9.4g}")
EOF
