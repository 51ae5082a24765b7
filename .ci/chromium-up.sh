#!/usr/bin/env bash
# Install Debian's Chromium when missing, so the report tests open results/report.html in a real headless browser.
set -euo pipefail
if command -v chromium >/dev/null; then
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version
