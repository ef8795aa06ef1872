#!/usr/bin/env bash
# Install the Debian packages the sandbox backends' tests need. Idempotent and quiet;
# does nothing unless run as root on a Debian/Ubuntu system (tests of a backend whose
# tool is missing skip with a reason).
#   bubblewrap          -> teragent-sandbox-bwrap
#   runsc               -> teragent-sandbox-gvisor
#   podman runc         -> teragent-sandbox-container (crun fails on hybrid cgroups)
#   qemu-system-x86 linux-image-amd64 busybox-static -> teragent-sandbox-microvm
#   tmux                -> tests/test_first_hour_tmux.py (a run driven in a real terminal)
set -euo pipefail
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-sandbox-deps: not root or no apt-get; skipping (sandbox and tmux tests will skip)" >&2
  exit 0
fi
PACKAGES=(bubblewrap runsc podman runc busybox-static qemu-system-x86 linux-image-amd64 tmux)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
echo "install-sandbox-deps: installed ${missing[*]}" >&2
