#!/usr/bin/env bash
# Does every runtime dependency have a binary wheel for the platforms we cannot test on?
# Asks the package index (pip download, no install) for each platform x Python version.
#   bash tools/check_platform_wheels.sh            # prints one line per platform/Python
set -uo pipefail
RUNTIME=(opencv-python numpy ai-edge-litert rich pyyaml)   # imutils is pure Python (sdist)
declare -A PLATFORMS=(
  [linux-x86_64]="--platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64"
  [linux-aarch64]="--platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64"
  [macos-arm64]="--platform macosx_11_0_arm64 --platform macosx_12_0_arm64 --platform macosx_14_0_arm64"
  [macos-x86_64]="--platform macosx_10_15_x86_64 --platform macosx_11_0_x86_64 --platform macosx_12_0_x86_64"
  [windows-amd64]="--platform win_amd64"
)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for name in "${!PLATFORMS[@]}"; do
  for py in 3.10 3.11 3.12; do
    missing=()
    for pkg in "${RUNTIME[@]}"; do
      # shellcheck disable=SC2086
      python3 -m pip download -q --no-deps --only-binary=:all: ${PLATFORMS[$name]} --python-version "$py" \
        -d "$tmp/$name-$py" "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then echo "$name py$py: all runtime wheels available"
    else echo "$name py$py: NO wheel for ${missing[*]}"; fi
  done
done | sort
