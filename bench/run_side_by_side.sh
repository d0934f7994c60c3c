#!/usr/bin/env bash
# run_side_by_side.sh — gradc and PyTorch 1.13 training-step times, side by
# side, in one session on one thread.
#
# For each of PyTorch's reference models (a) MLP 784-128-10, (b) MLP
# 784-512-512-10, (c) LeNet-5, (d) XOR 2-8-1 of torch_mnist.py, and REPS
# times over, interleaved (gradc's models for (a), then torch (a), then
# gradc's for (b), ...), it runs
#   gradc bench MODEL.nn --threads 1 --steps STEPS --json
#   env -u OPENBLAS_CORETYPE /usr/bin/python3 torch_mnist.py MNIST --threads 1 --model X --json F
# and writes a markdown table of the medians over the repetitions of each
# run's median ms per step (torch's (d) reports a mean over its 20000 steps;
# gradc's XOR bench then runs 20000 steps after 500 warm-up steps too).
#
# Usage: bench/run_side_by_side.sh [OUT.md]          (default bench/side_by_side.md)
#        bench/run_side_by_side.sh --report RAW_DIR [OUT.md]
# The second form only writes the table from the JSON files a run left in
# RAW_DIR (with the repetitions that completed).
# Environment: GRADC (default build/tools/gradc), MNIST_DIR (default
# ~/.cache/gradc/mnist), TORCH_MNIST (default /work/shared/bench/torch_mnist.py),
# REPS (default 5), STEPS (default 200), MODELS (default "a b c d": the torch
# models to run, each with its gradc models), RAW_DIR (keep each run's JSON there;
# default a temporary directory, removed at the end).
# Needs python3-torch in Debian's /usr/bin/python3 (apt-get install -y python3-torch).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
GRADC=${GRADC:-$root/build/tools/gradc}
MNIST_DIR=${MNIST_DIR:-$HOME/.cache/gradc/mnist}
TORCH_MNIST=${TORCH_MNIST:-/work/shared/bench/torch_mnist.py}
REPS=${REPS:-5}
STEPS=${STEPS:-200}
PY=/usr/bin/python3
report_only=""
if [ "${1:-}" = --report ]; then
  [ -d "${2:-}" ] || { echo "run_side_by_side: --report needs a directory" >&2; exit 1; }
  report_only=1
  RAW_DIR=$2
  shift 2
fi
OUT=${1:-$here/side_by_side.md}

[ -x "$GRADC" ] || { echo "run_side_by_side: no gradc at $GRADC (build first)" >&2; exit 1; }
[ -f "$TORCH_MNIST" ] || { echo "run_side_by_side: no $TORCH_MNIST" >&2; exit 1; }
[ -f "$MNIST_DIR/train-images-idx3-ubyte" ] || {
  echo "run_side_by_side: no MNIST IDX files in $MNIST_DIR (scripts/fetch_mnist.sh)" >&2; exit 1; }
"$PY" -c 'import torch' 2>/dev/null || {
  echo "run_side_by_side: $PY has no torch (apt-get install -y python3-torch)" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "${RAW_DIR:-}" ]; then
  raw=$RAW_DIR
  mkdir -p "$raw"
else
  raw=$(mktemp -d)
  trap 'rm -rf "$raw"' EXIT
fi

# torch model | gradc model files (relative to the repo) benched against it
declare -A GRADC_MODELS=(
  [a]="bench/torch_a_mlp.nn examples/mnist_mlp.nn"
  [b]="bench/torch_b_mlp_wide.nn examples/mlp_wide.nn"
  [c]="bench/torch_c_lenet.nn examples/lenet.nn"
  [d]="examples/xor.nn"
)

[ -n "$report_only" ] && REPS=0
for rep in $(seq 1 "$REPS"); do
  for t in ${MODELS:-a b c d}; do
    for m in ${GRADC_MODELS[$t]}; do
      args=(--threads 1 --steps "$STEPS")
      [ "$t" = d ] && args=(--threads 1 --steps 20000 --warmup 500)
      key=$(basename "$m" .nn)
      echo "rep $rep/$REPS: gradc bench $m ${args[*]}" >&2
      if ! (cd "$root" && "$GRADC" bench "$m" "${args[@]}" --json) \
        >"$raw/gradc.$t.$key.$rep.json" 2>"$raw/err"; then
        cat "$raw/err" >&2
        exit 1
      fi
    done
    echo "rep $rep/$REPS: torch_mnist.py --model $t" >&2
    env -u OPENBLAS_CORETYPE "$PY" "$TORCH_MNIST" "$MNIST_DIR" --threads 1 --model "$t" \
      --json "$raw/torch.$t.$rep.json" >/dev/null
  done
done

host_cpu=$(llc-19 --version 2>/dev/null | sed -n 's/.*Host CPU: *//p' || true)
[ -n "$host_cpu" ] || host_cpu=$(llc --version 2>/dev/null | sed -n 's/.*Host CPU: *//p' || true)
cpu_name=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

"$PY" - "$raw" "$OUT" "$REPS" "$STEPS" "$(nproc)" "${host_cpu:-unknown}" \
  "${cpu_name:-unknown}" "$commit" "$("$GRADC" --version)" "$load_before" "$load_after" "$report_only" <<'EOF'
import datetime, glob, json, os, statistics, sys

(raw, out, reps, steps, cores, host_cpu, cpu_name, commit, version, load_before,
 load_after, report_only) = sys.argv[1:]

def load(path):
    with open(path) as f:
        lines = f.read().strip().splitlines()
    return json.loads(lines[-1]) if lines else None  # None: a run in progress

def load_all(pattern):
    return [r for r in (load(p) for p in sorted(glob.glob(pattern))) if r]

NOTES = {
    "torch_a_mlp": "same network and optimizer as torch (a): SGD lr 0.1",
    "mnist_mlp": "same network as (a), but Adam + clip_grad_norm + cosine schedule, /255 in the model",
    "torch_b_mlp_wide": "same as torch (b)",
    "mlp_wide": "same as (b), /255 in the model",
    "torch_c_lenet": "same as torch (c): no padding, dense 256->120",
    "lenet": "conv1 padding 2 (dense 400->120), /255 in the model",
    "xor": "same as torch (d)",
}
ORDER = ["torch_a_mlp", "mnist_mlp", "torch_b_mlp_wide", "mlp_wide",
         "torch_c_lenet", "lenet", "xor"]
TORCH = {"a": "(a) MLP 784-128-10, SGD, b64", "b": "(b) MLP 784-512-512-10, Adam, b128",
         "c": "(c) LeNet-5, SGD+momentum, b64", "d": "(d) XOR 2-8-1, SGD, b4"}

torch_ms, torch_ver = {}, ""
for t in "abcd":
    runs = load_all(f"{raw}/torch.{t}.*.json")
    if not runs:
        continue
    torch_ver = runs[0]["torch"]
    if t == "d":
        torch_ms[t] = [r["us_per_step"] / 1000.0 for r in runs]
    else:
        torch_ms[t] = [r["ms_per_step_median"] for r in runs]

if report_only:
    reps = str(max(len(v) for v in torch_ms.values()))
rows = []
for key in ORDER:
    paths = sorted(glob.glob(f"{raw}/gradc.*.{key}.*.json"))
    t = os.path.basename(paths[0]).split(".")[1] if paths else None
    if t not in torch_ms:
        continue
    runs = load_all(f"{raw}/gradc.*.{key}.*.json")
    g = statistics.median(r["step_ms"] for r in runs)
    tm = statistics.median(torch_ms[t])
    rows.append((TORCH[t], key, f"{len(runs)}/{len(torch_ms[t])}", runs[0]["batch"], g,
                 min(r["step_ms"] for r in runs), max(r["step_ms"] for r in runs),
                 tm, min(torch_ms[t]), max(torch_ms[t]), tm / g,
                 statistics.median(r["compile_ms"] for r in runs),
                 runs[0]["peak_bytes"], NOTES[key]))

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
L = []
L.append(f"Table written {now}; {version} (commit {commit}); PyTorch {torch_ver}; {cores} cores, "
         f"CPU {cpu_name} (LLVM host CPU: {host_cpu}); 1 thread each; OPENBLAS_CORETYPE unset "
         f"for torch; {reps} interleaved repetitions, medians over them of each run's median "
         f"ms/step (gradc: {steps} timed steps after 10 warm-up, XOR 20000 after 500; "
         f"torch: one epoch less its first 20 steps, XOR the mean of 20000 steps after 500). "
         + (f"Load average (1, 5, 15 min) when the table was written: {load_before}." if report_only
          else f"Load average (1, 5, 15 min) {load_before} at the start, {load_after} at the end."))
L.append("")
L.append("| torch model | gradc model | runs gradc/torch | batch | gradc ms/step | (range) | torch ms/step | (range) "
         "| torch / gradc | gradc compile ms | gradc peak bytes | gradc model vs torch |")
L.append("|---|---|---|---:|---:|---|---:|---|---:|---:|---:|---|")
for (tn, key, n, b, g, gmin, gmax, tm, tmin, tmax, ratio, cms, peak, note) in rows:
    L.append(f"| {tn} | `{key}.nn` | {n} | {b} | {g:.4g} | {gmin:.4g}–{gmax:.4g} | {tm:.4g} "
             f"| {tmin:.4g}–{tmax:.4g} | {ratio:.2f} | {cms:.0f} | {peak} | {note} |")
L.append("")
L.append("torch / gradc above 1: gradc's step is that many times faster.")
text = "\n".join(L) + "\n"
with open(out, "w") as f:
    f.write(text)
sys.stdout.write(text)
EOF
echo "wrote $OUT" >&2
