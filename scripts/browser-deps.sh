#!/usr/bin/env bash
# Headless Chromium and its driver for the browser tests (pytest -m browser), from Debian's
# packages. Installs only what is missing; needs root (CI runs as root on a fresh machine).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
echo "browser-deps: installing chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
