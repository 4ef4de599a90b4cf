#!/usr/bin/env bash
# Installs the Debian packages heapd's build, tests and tools need, when they are missing.
# Safe to run repeatedly; does nothing when everything is present. Needs root (or sudo) to install.
set -euo pipefail
packages=(pkg-config libsystemd-dev redis-tools redis-server netcat-openbsd tmux graphviz systemd systemd-container debootstrap procps python3)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
