#!/usr/bin/env bash
# Set up pan-gym on a fresh Debian/Ubuntu machine: system libraries for headless MuJoCo rendering (EGL, Mesa's
# software rasteriser), then a virtual environment in .venv with the package installed (CPU build of torch).
#   bash scripts/setup.sh          # runtime
#   bash scripts/setup.sh dev      # + test and lint tools, the TorchRL adapter, chromium for the web test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

apt_packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0)  # headless MuJoCo: EGL + Mesa llvmpipe
[ "$extras" = dev ] && apt_packages+=(chromium)  # the web page's end-to-end test (driven by Playwright)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages (install them as root): ${missing[*]}" >&2
  fi
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# torch is pinned in pyproject.toml (2.13.0, CPU): installing it first keeps pip from resolving a CUDA build.
.venv/bin/pip install -q "torch==2.13.0"
if [ "$extras" = dev ]; then
  .venv/bin/pip install -q -e ".[dev,torchrl]"
else
  .venv/bin/pip install -q -e .
fi
echo "pan-gym is set up in .venv"
