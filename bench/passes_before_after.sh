#!/usr/bin/env bash
# passes_before_after.sh — what the optimization pipeline buys, per model:
# kernels per train step, the step's peak bytes, its scratch without and with
# the memory plan, and the step time, without the passes
# (`--pipeline none`: the grad stage's module, one kernel per node) and with
# the default pipeline, side by side.
#
# For each model and REPS times over, interleaved (model 1 without, model 1
# with, model 2 without, ...), it runs
#   gradc bench MODEL --threads 1 --steps STEPS --json [--pipeline none]
# and writes a markdown table of the medians over the repetitions of each
# run's median ms per step.
#
# Usage: bench/passes_before_after.sh [OUT.md]    (default: stdout only)
# Environment: GRADC (default build/tools/gradc), REPS (default 3), STEPS
# (default 50), MODELS (default: every examples/*.nn and bench/*.nn).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
GRADC=${GRADC:-$root/build/tools/gradc}
REPS=${REPS:-3}
STEPS=${STEPS:-50}
OUT=${1:-}
[ -x "$GRADC" ] || { echo "passes_before_after: no gradc at $GRADC (build first)" >&2; exit 1; }
if [ -z "${MODELS:-}" ]; then
  MODELS=$(cd "$root" && ls examples/*.nn bench/*.nn)
fi

raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$REPS"); do
  for m in $MODELS; do
    key=$(basename "$m" .nn)
    for variant in none default; do
      args=(--threads 1 --steps "$STEPS" --json)
      [ "$variant" = none ] && args+=(--pipeline none)
      echo "rep $rep/$REPS: gradc bench $m ${args[*]}" >&2
      (cd "$root" && "$GRADC" bench "$m" "${args[@]}") >"$raw/$key.$variant.$rep.json"
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

python3 - "$raw" "$REPS" "$STEPS" "$commit" "$load_before" "$load_after" "$OUT" $MODELS <<'PY'
import glob, json, os, statistics, sys
raw, reps, steps, commit, lb, la, out, *models = sys.argv[1:]

def runs(key, variant):
    return [json.load(open(p)) for p in sorted(glob.glob(f"{raw}/{key}.{variant}.*.json"))]

def fmt_bytes(n):
    if n < 1 << 10:
        return f"{n} B"
    return f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"

L = [f"Commit {commit}; `gradc bench MODEL --threads 1 --steps {steps} --json`, without "
     f"(`--pipeline none`) and with the default pipeline, {reps} interleaved repetitions, "
     f"medians of each run's median ms/step. Load average {lb} at the start, {la} at the end.",
     "",
     "| model | kernels before | kernels after | peak bytes before | peak bytes after "
     "| scratch unplanned → planned | ms/step before | ms/step after | speedup |",
     "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
for m in models:
    key = os.path.basename(m)[:-3]
    b, a = runs(key, "none"), runs(key, "default")
    if not b or not a:
        continue
    mb = statistics.median(r["step_ms"] for r in b)
    ma = statistics.median(r["step_ms"] for r in a)
    kb, ka = b[0].get("kernels", "?"), a[0].get("kernels", "?")
    u, p = a[0]["unplanned_bytes"], a[0]["planned_bytes"]
    plan = f"{fmt_bytes(u)} → {fmt_bytes(p)} ({100 * p / max(u, 1):.0f}%)"
    L.append(f"| `{m}` | {kb} | {ka} | {fmt_bytes(b[0]['peak_bytes'])} | "
             f"{fmt_bytes(a[0]['peak_bytes'])} | {plan} | {mb:.4g} | {ma:.4g} | {mb / ma:.2f}x |")
text = "\n".join(L) + "\n"
sys.stdout.write(text)
if out:
    open(out, "w").write(text)
PY
