#!/usr/bin/env bash
# Install headless Chromium and its WebDriver for the web UI test of teragent-service
# (plugins/teragent-service/tests/test_web_ui.py). Idempotent and quiet; does nothing
# unless run as root on a Debian/Ubuntu system (the browser test then skips with a reason).
#   chromium chromium-driver -> the agent service's web UI driven through selenium
set -euo pipefail
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser-deps: not root or no apt-get; skipping (the web UI browser test will skip)" >&2
  exit 0
fi
PACKAGES=(chromium chromium-driver)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-browser-deps: installed ${missing[*]}" >&2
