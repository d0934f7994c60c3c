#!/usr/bin/python3
"""Writes linreg_x.csv and linreg_y.csv for examples/linreg.nn.

256 examples of 3 features drawn from N(0, 1), and targets
    y = x @ TRUE_W + TRUE_B + noise,   noise ~ N(0, NOISE_STD^2),
with a fixed seed, so the files are the same on every run. A trained
examples/linreg.nn should recover W close to TRUE_W and b close to TRUE_B.

Usage: /usr/bin/python3 examples/data/make_linreg.py   (stdlib only; writes next to itself)
"""
import os
import random

SEED = 20261125
N = 256
TRUE_W = [2.0, -3.5, 0.5]
TRUE_B = 1.25
NOISE_STD = 0.01


def main():
    rng = random.Random(SEED)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "linreg_x.csv"), "w", newline="\n") as fx, \
         open(os.path.join(here, "linreg_y.csv"), "w", newline="\n") as fy:
        fx.write("x1,x2,x3\n")
        fy.write("y\n")
        for _ in range(N):
            x = [rng.gauss(0.0, 1.0) for _ in TRUE_W]
            y = sum(xi * wi for xi, wi in zip(x, TRUE_W)) + TRUE_B + rng.gauss(0.0, NOISE_STD)
            fx.write(",".join(f"{v:.6f}" for v in x) + "\n")
            fy.write(f"{y:.6f}\n")


if __name__ == "__main__":
    main()
