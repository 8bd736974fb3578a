#!/usr/bin/env bash
# Installs the Debian packages sigloop builds and tests with. Idempotent: packages already present
# are not fetched again. Works as root, or through sudo for another user.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libsndfile1-dev libfftw3-dev libopenblas-dev libsoxr-dev libyaml-dev libsqlite3-dev
  libcmocka-dev libopenmpi-dev openmpi-bin chromium time
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
  sudo_cmd=(sudo)
else
  echo "setup: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
