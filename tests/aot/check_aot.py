#!/usr/bin/env python3
"""ctest aot_example: the AOT object of examples/xor.nn in a plain C program.

  check_aot.py GRADC CC SOURCE_DIR WORK_DIR

1. `gradc compile` writes xor.o and xor.h; `cc main.c xor.o -lm` links
   examples/aot/main.c against it (nothing else: no LLVM, no gradc library).
2. The program's loss at every step equals, as an f32, the JIT's
   (`gradc train --json --log-every 1`) for the same seed, data and thread
   count; and its predictions solve XOR.
3. The object's undefined symbols are all defined by libc or libm, and it
   defines no global symbol outside the model's prefix.
4. An object compiled with --cpu x86-64-v3 holds no AVX-512 instruction
   (no zmm, k or {1toN}); the same model compiled with --cpu x86-64-v4 does
   use AVX-512, so the check can tell.
"""
import json
import os
import re
import struct
import subprocess
import sys

GRADC, CC, SRC, WORK = sys.argv[1:5]
os.makedirs(WORK, exist_ok=True)
STEPS, SEEDS = 300, [0, 7]


def run(*args, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} exited {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


def path(*p):
    return os.path.join(WORK, *p)


model = os.path.join(SRC, "examples", "xor.nn")
run(GRADC, "compile", model, "-o", path("xor.o"), "--header", path("xor.h"), "--threads", "1")
run(CC, "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", WORK,
    os.path.join(SRC, "examples", "aot", "main.c"), path("xor.o"), "-lm", "-o", path("xor_aot"))

for seed in SEEDS:
    out = run(path("xor_aot"), str(STEPS), str(seed))
    aot = [float(m.group(2)) for m in re.finditer(r"^step (\d+) loss (\S+)$", out, re.M)]
    jit = json.loads(run(GRADC, "train", model, "--json", "--no-shuffle", "--log-every", "1",
                         "--steps", str(STEPS), "--seed", str(seed), "--threads", "1",
                         "--data", "x=" + os.path.join(SRC, "examples", "data", "xor_x.csv"),
                         "--data", "y=" + os.path.join(SRC, "examples", "data", "xor_y.csv")))
    jl = [l for _, l in jit["losses"]]
    if len(aot) != STEPS or len(jl) != STEPS:
        sys.exit(f"FAIL: seed {seed}: {len(aot)} AOT losses, {len(jl)} JIT losses, want {STEPS}")
    for t, (a, j) in enumerate(zip(aot, jl), 1):
        if f32(a) != f32(j):
            sys.exit(f"FAIL: seed {seed} step {t}: AOT loss {a!r} != JIT loss {j!r}")
    print(f"seed {seed}: {STEPS} AOT losses equal the JIT's (last {aot[-1]})")

# The default 2000 steps solve XOR: every prediction on the right side of 0.5.
out = run(path("xor_aot"))
preds = re.findall(r"^xor\((\S+), (\S+)\) = (\S+)$", out, re.M)
if len(preds) != 4:
    sys.exit("FAIL: expected 4 predictions:\n" + out)
for a, b, p in preds:
    if (float(p) > 0.5) != (a != b):
        sys.exit(f"FAIL: xor({a}, {b}) = {p}\n" + out)
print("predictions:", ", ".join(p for _, _, p in preds))

# Undefined symbols: libc and libm only.
def dynamic_symbols(lib):
    so = subprocess.run([CC, "-print-file-name=" + lib], capture_output=True, text=True).stdout.strip()
    names = set()
    for line in run("nm", "-D", "--defined-only", so).splitlines():
        parts = line.split()
        if parts:
            names.add(parts[-1].split("@")[0])
    return names

# (_GLOBAL_OFFSET_TABLE_ is made by the linker for position-independent code.)
libs = dynamic_symbols("libc.so.6") | dynamic_symbols("libm.so.6") | {"_GLOBAL_OFFSET_TABLE_"}
undefined = [l.split()[-1] for l in run("nm", "-u", path("xor.o")).splitlines() if l.strip()]
bad = [s for s in undefined if s not in libs]
if bad:
    sys.exit(f"FAIL: xor.o needs symbols outside libc/libm: {bad}")
print("undefined symbols (all libc/libm):", " ".join(undefined))
globals_ = [l.split()[-1] for l in run("nm", "-g", "--defined-only", path("xor.o")).splitlines() if l.strip()]
stray = [s for s in globals_ if not s.startswith("xor_")]
if stray or "xor_train_step" not in globals_ or "xor_init" not in globals_:
    sys.exit(f"FAIL: global symbols of xor.o: {globals_}")
print("global symbols:", " ".join(globals_))

# --cpu x86-64-v3: no AVX-512.
mnist = os.path.join(SRC, "examples", "mnist_mlp.nn")
AVX512 = re.compile(r"%zmm|%k[0-7]\b|\{1to\d+\}|%[xy]mm(1[6-9]|2\d|3[01])\b")
run(GRADC, "compile", mnist, "-o", path("mnist_v3.o"), "--cpu", "x86-64-v3")
asm = run("objdump", "-d", "--no-show-raw-insn", path("mnist_v3.o"))
hits = [l for l in asm.splitlines() if AVX512.search(l)]
if hits:
    sys.exit("FAIL: --cpu x86-64-v3 object has AVX-512 instructions:\n" + "\n".join(hits[:10]))
if "ymm" not in asm:
    sys.exit("FAIL: --cpu x86-64-v3 object has no AVX2 (ymm) code at all")
print("x86-64-v3 object: AVX2, no AVX-512")
# The control: the same model for an AVX-512 CPU does use zmm (so the check
# above can fail), whatever this host has.
run(GRADC, "compile", mnist, "-o", path("mnist_v4.o"), "--cpu", "x86-64-v4")
v4 = run("objdump", "-d", "--no-show-raw-insn", path("mnist_v4.o"))
if not AVX512.search(v4):
    sys.exit("FAIL: the --cpu x86-64-v4 object has no AVX-512 code (the check above is blind)")
print("x86-64-v4 object (control): uses AVX-512")
r = subprocess.run([GRADC, "compile", mnist, "-o", path("bad.o"), "--cpu", "no-such-cpu"],
                   capture_output=True, text=True)
if r.returncode != 1 or "unknown CPU 'no-such-cpu'" not in r.stderr:
    sys.exit(f"FAIL: --cpu no-such-cpu: status {r.returncode}: {r.stderr}")
print("PASS")
