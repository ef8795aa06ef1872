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
. "$(dirname "$0")/lib/apt-ensure.sh"
apt_ensure install-sandbox-deps "sandbox and tmux tests will skip" bubblewrap runsc podman runc busybox-static qemu-system-x86 linux-image-amd64 tmux
