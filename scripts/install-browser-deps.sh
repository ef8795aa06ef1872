#!/usr/bin/env bash
# Install headless Chromium and its WebDriver for the web UI test of teragent-service
# (plugins/teragent-service/tests/test_web_ui.py). Idempotent and quiet; does nothing
# unless run as root on a Debian/Ubuntu system (the browser test then skips with a reason).
#   chromium chromium-driver -> the agent service's web UI driven through selenium
set -euo pipefail
. "$(dirname "$0")/lib/apt-ensure.sh"
apt_ensure install-browser-deps "the web UI browser test will skip" --no-install-recommends chromium chromium-driver
