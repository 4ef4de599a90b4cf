#!/usr/bin/env bash
# Installs the Debian packages heapd's build, tests and tools need, when they are missing.
# Safe to run repeatedly; does nothing when everything is present. Needs root (or sudo) to install.
# Then the Python client's test environment: a venv in .venv-python (Debian's pip refuses system-wide
# installs) with pytest, redis-py, prometheus_client (whose text parser reads `heapctl metrics`'s scrape in
# test_metrics.py) and clients/python itself, as `pip install ./clients/python` installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(pkg-config libsystemd-dev redis-tools redis-server netcat-openbsd tmux graphviz systemd systemd-container debootstrap procps python3 python3-venv)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Python client (clients/python) and its pytest suite. The venv is made once; the package is
# reinstalled each time, so the tests run what `pip install ./clients/python` installs now.
venv=.venv-python
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "redis>=5" pytest "prometheus_client>=0.17"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./clients/python
rm -rf clients/python/build clients/python/src/heapd.egg-info
