# Sourced by scripts/install-*-deps.sh: make sure Debian packages are installed.
#
#   apt_ensure NAME "WHAT SKIPS WITHOUT THEM" [--no-install-recommends] PACKAGE...
#
# Idempotent and quiet: installs only what is missing, and does nothing (exit 0, one
# line on stderr) unless run as root on a system with apt-get, where the tests that
# need the packages skip with a reason instead.
apt_ensure() {
  local name=$1 skips=$2
  shift 2
  local options=()
  if [ "${1:-}" = "--no-install-recommends" ]; then
    options+=("$1")
    shift
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: not root or no apt-get; skipping ($skips)" >&2
    return 0
  fi
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${options[@]}" "${missing[@]}" >/dev/null
  echo "$name: installed ${missing[*]}" >&2
}
