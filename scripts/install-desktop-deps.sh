#!/usr/bin/env bash
# Install the Debian packages the desktop tool's tests need (plugins/teragent-desktop):
#   xvfb      -> a real X server without a screen (the tests start `Xvfb :N`)
#   xdotool   -> the backend: synthetic mouse and keyboard input through XTEST
#   x11-utils -> xev (the tests' X client that records the input it receives) and xdpyinfo
# Screenshots need no package: Pillow (a dependency of teragent-desktop) reads the screen
# over XCB. Idempotent and quiet; does nothing unless run as root with apt-get (the
# desktop tests then skip with a reason).
set -euo pipefail
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-desktop-deps: not root or no apt-get; skipping (desktop tests will skip)" >&2
  exit 0
fi
PACKAGES=(xvfb xdotool x11-utils)
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
echo "install-desktop-deps: installed ${missing[*]}" >&2
