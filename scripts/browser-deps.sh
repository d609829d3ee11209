#!/usr/bin/env bash
# Headless Chromium and its driver for the browser tests (pytest -m browser), Tesseract OCR for
# the business-card tests and the DejaVu fonts the card fixture was drawn with, from Debian's
# packages. Installs only what is missing; needs root (CI runs as root on a fresh machine).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
  && command -v tesseract >/dev/null 2>&1 && [ -d /usr/share/tesseract-ocr ] \
  && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  exit 0
fi
echo "browser-deps: installing chromium, chromium-driver, tesseract-ocr and fonts-dejavu-core"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver \
  tesseract-ocr tesseract-ocr-eng fonts-dejavu-core >/dev/null
