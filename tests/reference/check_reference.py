#!/usr/bin/env python3
"""Checks `gradc train` against the PyTorch reference data of tests/reference/cases/.

    python3 tests/reference/check_reference.py GRADC [BACKEND] [CASE...]

BACKEND defaults to interp. For every case directory (or only the CASEs named) it runs

    GRADC train CASE/model.nn --backend BACKEND --data NAME=CASE/NAME.npy ...
          --init CASE/init.safetensors --steps 10 --no-shuffle --log-every 1
          --save TMP/final.safetensors --json

and compares, within SPEC.md section 4's tolerance (per element |a - b| <= max(rtol*|b|, atol):
f32 1e-3 / 1e-5, f64 1e-9 / 1e-12), the loss of each of the 10 steps with
expected.json and every tensor of CASE/final.safetensors (params, batch-norm running
statistics, optimizer state) with the checkpoint gradc saved; the checkpoint's
metadata "step" must be "10". Prints a PASS or FAIL line per case, then
`N passed, M failed`; exit status 1 if anything failed.

Standard library only: CI has neither numpy nor torch. make_reference.py writes the data.
"""

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")
TOLERANCE = {"f32": (1e-3, 1e-5), "f64": (1e-9, 1e-12)}
STEPS = 10
TIMEOUT = 600

_FORMATS = {"F32": ("f", 4), "F64": ("d", 8), "I32": ("i", 4), "I64": ("q", 8)}


def read_safetensors(path):
    """Returns (metadata, {name: (dtype, shape, [values])})."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: shorter than a safetensors header" % path)
    (n,) = struct.unpack_from("<Q", raw, 0)
    if 8 + n > len(raw):
        raise ValueError("%s: header length %d past the end of the file" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dt = info["dtype"]
        if dt not in _FORMATS:
            raise ValueError("%s: tensor '%s' has unsupported dtype %s" % (path, name, dt))
        code, size = _FORMATS[dt]
        shape = list(info["shape"])
        count = 1
        for d in shape:
            count *= d
        b, e = info["data_offsets"]
        if e - b != count * size or base + e > len(raw):
            raise ValueError("%s: tensor '%s' has bad data offsets" % (path, name))
        values = struct.unpack_from("<%d%s" % (count, code), raw, base + b)
        tensors[name] = (dt, shape, values)
    return meta, tensors


def close(a, b, rtol, atol):
    if math.isnan(a) or math.isnan(b):
        return False
    return abs(a - b) <= max(rtol * abs(b), atol)


def excess(a, b, rtol, atol):
    """How far past the tolerance |a - b| is (> 1 fails)."""
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return float("inf") if a != b else 0.0
    return abs(a - b) / max(rtol * abs(b), atol)


def unravel(i, shape):
    idx = []
    for d in reversed(shape):
        idx.append(i % d)
        i //= d
    return list(reversed(idx))


def check_case(gradc, backend, case_dir, tmp):
    name = os.path.basename(case_dir)
    with open(os.path.join(case_dir, "expected.json")) as f:
        expected = json.load(f)
    dtype = expected["dtype"]
    rtol, atol = TOLERANCE[dtype]
    num = "%.17g" if dtype == "f64" else "%.9g"
    cmd = [gradc, "train", os.path.join(case_dir, "model.nn"), "--backend", backend]
    for fn in sorted(os.listdir(case_dir)):
        if fn.endswith(".npy"):
            cmd += ["--data", "%s=%s" % (fn[:-4], os.path.join(case_dir, fn))]
    save = os.path.join(tmp, name + ".safetensors")
    cmd += ["--init", os.path.join(case_dir, "init.safetensors"), "--steps", str(STEPS),
            "--no-shuffle", "--log-every", "1", "--save", save, "--json"]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT, universal_newlines=True)
    except subprocess.TimeoutExpired:
        return False, "gradc train timed out after %d s" % TIMEOUT, []
    if p.returncode != 0:
        err = p.stderr.strip().splitlines()
        return False, "gradc train exited with %d: %s" % (
            p.returncode, " | ".join(err[-3:]) if err else "(no message)"), []
    try:
        out = json.loads(p.stdout)
    except ValueError as e:
        return False, "stdout is not one JSON object (%s): %r" % (e, p.stdout[:200]), []

    problems = []   # (excess, text)
    details = []
    # Losses.
    got_losses = {}
    for pair in out.get("losses", []):
        got_losses[int(pair[0])] = float(pair[1])
    worst = (0.0, "")
    for t, want in enumerate(expected["losses"], start=1):
        if t not in got_losses:
            problems.append((float("inf"), "no loss logged for step %d" % t))
            continue
        got = got_losses[t]
        x = excess(got, want, rtol, atol)
        if x > worst[0]:
            worst = (x, ("loss[step %d] " + num + " vs torch " + num) % (t, got, want))
        if x > 1:
            details.append(("  loss at step %d: gradc " + num + ", torch " + num) % (t, got, want))
    if worst[0] > 1:
        problems.append(worst)
    loss_worst = worst

    # Final tensors.
    try:
        want_meta, want = read_safetensors(os.path.join(case_dir, "final.safetensors"))
        got_meta, got = read_safetensors(save)
    except (OSError, ValueError) as e:
        return False, "cannot read the checkpoint: %s" % e, details
    if "step" in want_meta and got_meta.get("step") != want_meta["step"]:
        problems.append((float("inf"), "checkpoint metadata step %r, expected %r" %
                         (got_meta.get("step"), want_meta["step"])))
    overall = loss_worst
    for tname in sorted(want):
        wdt, wshape, wvals = want[tname]
        if tname not in got:
            problems.append((float("inf"), "tensor '%s' missing from gradc's checkpoint" % tname))
            continue
        gdt, gshape, gvals = got[tname]
        if gdt != wdt or gshape != wshape:
            problems.append((float("inf"), "tensor '%s' is %s%s, expected %s%s" %
                             (tname, gdt, gshape, wdt, wshape)))
            continue
        tw = (0.0, "")
        bad = 0
        for i, (a, b) in enumerate(zip(gvals, wvals)):
            x = excess(a, b, rtol, atol)
            if x > 1:
                bad += 1
            if x > tw[0]:
                tw = (x, ("%s%s " + num + " vs torch " + num) % (tname, unravel(i, wshape), a, b))
        if tw[0] > overall[0]:
            overall = tw
        if bad:
            problems.append(tw)
            details.append("  %s: %d of %d elements out of tolerance, worst %s" %
                           (tname, bad, len(wvals), tw[1]))
    if problems:
        problems.sort(key=lambda p: -p[0])
        msg = "%d problem(s); worst: %s" % (len(problems), problems[0][1])
        others = [p[1] for p in problems[1:] if p[0] == float("inf")]
        for o in others:
            details.append("  " + o)
        return False, msg, details
    return True, "worst %s (%.3g of the tolerance)" % (overall[1] or "-", overall[0]), []


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 1
    gradc = argv[1]
    backend = argv[2] if len(argv) > 2 else "interp"
    only = argv[3:]
    cases = sorted(d for d in os.listdir(CASES_DIR)
                   if os.path.isfile(os.path.join(CASES_DIR, d, "expected.json")))
    if only:
        missing = [c for c in only if c not in cases]
        if missing:
            print("unknown case(s): %s" % ", ".join(missing), file=sys.stderr)
            return 1
        cases = only
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix="gradc-reference-")
    try:
        for c in cases:
            ok, msg, details = check_case(gradc, backend, os.path.join(CASES_DIR, c), tmp)
            print("%s %-18s %s" % ("PASS" if ok else "FAIL", c, msg))
            for d in details:
                print(d)
            sys.stdout.flush()
            if ok:
                passed += 1
            else:
                failed += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
