#!/usr/bin/env bash
# Install the Debian packages the desktop tool's tests need (plugins/teragent-desktop):
#   xvfb      -> a real X server without a screen (the tests start `Xvfb :N`)
#   xdotool   -> the backend: synthetic mouse and keyboard input through XTEST
#   x11-utils -> xev (the tests' X client that records the input it receives) and xdpyinfo
# Screenshots need no package: Pillow (a dependency of teragent-desktop) reads the screen
# over XCB. Idempotent and quiet; does nothing unless run as root with apt-get (the
# desktop tests then skip with a reason).
set -euo pipefail
. "$(dirname "$0")/lib/apt-ensure.sh"
apt_ensure install-desktop-deps "desktop tests will skip" --no-install-recommends xvfb xdotool x11-utils
