#!/usr/bin/env python3
"""ctest doc_examples_*: every code block of a docs page that is marked
`<!-- doctest: KIND ARGS -->` on the line before its fence is compiled,
linked and run; it must exit with status 0.

  check_doc_examples.py DOC.md WORK_DIR GRADC CC CXX SOURCE_DIR [API_FLAGS...]

Kinds:
  aot MODEL   `gradc compile MODEL` to STEM.o and STEM.h in the work dir, then
              `cc -I WORK block.c STEM.o -lm`
  api         the block (C for ```c, C++20 for ```cpp) built with API_FLAGS
              (include directories and the gradc library), run in SOURCE_DIR
"""
import os
import re
import subprocess
import sys

DOC, WORK, GRADC, CC, CXX, SRC = sys.argv[1:7]
API_FLAGS = sys.argv[7:]
os.makedirs(WORK, exist_ok=True)


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} exited {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


text = open(DOC).read()
blocks = re.findall(r"<!-- doctest: ([^>]*?) -->\n```(\w+)\n(.*?)\n```", text, re.S)
if not blocks:
    sys.exit(f"FAIL: {DOC} has no doctest blocks")
for n, (spec, lang, code) in enumerate(blocks):
    kind, *args = spec.split()
    ext = "c" if lang == "c" else "cpp"
    src = os.path.join(WORK, f"example{n}.{ext}")
    exe = os.path.join(WORK, f"example{n}")
    with open(src, "w") as f:
        f.write(code + "\n")
    if kind == "aot":
        model = os.path.join(SRC, args[0])
        stem = os.path.splitext(os.path.basename(model))[0]
        obj = os.path.join(WORK, stem + ".o")
        run([GRADC, "compile", model, "-o", obj, "--header", os.path.join(WORK, stem + ".h")])
        run([CC, "-std=c11", "-Wall", "-Werror", "-I", WORK, src, obj, "-lm", "-o", exe])
        out = run([exe], cwd=WORK)
    elif kind == "api":
        if ext == "c":
            cmd = [CC, "-std=c11", "-Wall", "-Werror", src]
        else:
            cmd = [CXX, "-std=c++20", "-Wall", "-Werror", src]
        run(cmd + API_FLAGS + ["-o", exe])
        out = run([exe], cwd=SRC)
    else:
        sys.exit(f"FAIL: unknown doctest kind '{kind}'")
    print(f"example {n} ({spec}, {lang}): ok")
    print("  " + "\n  ".join(out.strip().splitlines()[:6]))
print("PASS")
