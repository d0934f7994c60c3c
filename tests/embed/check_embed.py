#!/usr/bin/env python3
"""ctest embed_example: examples/embed (a C++ program on libgradc) trains the
MNIST MLP on MNIST-format IDX files it loads itself and saves a checkpoint;
`gradc eval` then reads that checkpoint and must report the test loss and
accuracy the program computed through the library.

  check_embed.py EMBED GRADC SOURCE_DIR WORK_DIR

The IDX files are made here (so the test needs no download): 28x28 u8
images whose class is the place of a bright block, with noise; 1280 training
and 640 test examples (10 full batches of 64).
"""
import json
import os
import random
import re
import struct
import subprocess
import sys

EMBED, GRADC, SRC, WORK = sys.argv[1:5]
os.makedirs(WORK, exist_ok=True)


def write_split(prefix, n, rng):
    images, labels = bytearray(), bytearray()
    for _ in range(n):
        c = rng.randrange(10)
        img = [rng.randrange(60) for _ in range(784)]
        r0, c0 = (c // 5) * 14 + 3, (c % 5) * 5 + 2
        for r in range(r0, r0 + 8):
            for k in range(c0, c0 + 4):
                img[r * 28 + k] = 200 + rng.randrange(56)
        images += bytes(img)
        labels.append(c)
    with open(os.path.join(WORK, prefix + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images)
    with open(os.path.join(WORK, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labels)


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} exited {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


rng = random.Random(1)
write_split("train", 1280, rng)
write_split("t10k", 640, rng)
model = os.path.join(SRC, "examples", "mnist_mlp.nn")
ckpt = os.path.join(WORK, "mnist.safetensors")
if os.path.exists(ckpt):
    os.remove(ckpt)
out = run([EMBED, model, WORK, ckpt, "200"])
print(out)
m = re.search(r"^test loss (\S+) acc (\S+) over 640 examples$", out, re.M)
if not m or "saved" not in out:
    sys.exit("FAIL: unexpected output of the example")
loss, acc = float(m.group(1)), float(m.group(2))
ev = json.loads(run([GRADC, "eval", model, "--load", ckpt, "--json", "--threads", "1",
                     "--data", "x=" + os.path.join(WORK, "t10k-images-idx3-ubyte"),
                     "--data", "y=" + os.path.join(WORK, "t10k-labels-idx1-ubyte")]))
print("gradc eval:", ev)
if ev["examples"] != 640:
    sys.exit(f"FAIL: gradc eval covered {ev['examples']} examples")
if abs(ev["loss"] - loss) > 1e-5 * max(1.0, abs(loss)) or abs(ev["acc"] - acc) > 1e-4:
    sys.exit(f"FAIL: gradc eval says loss {ev['loss']} acc {ev['acc']}, the program {loss} {acc}")
if acc < 0.9:
    sys.exit(f"FAIL: accuracy {acc} after 200 steps: the program did not learn")
print("PASS")
