#!/usr/bin/env bash
# Installs everything gradc needs to build and test on Debian 12 (run as root
# or with sudo available). Idempotent: does nothing when all is installed.
set -euo pipefail

PACKAGES=(build-essential cmake ninja-build git python3
  llvm-19-dev llvm-19-tools libzstd-dev libfmt-dev libgtest-dev libgmock-dev
  clang-19 libclang-rt-19-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
