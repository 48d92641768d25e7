#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests use (a real browser, a Secret Service, D-Bus,
# nginx, haproxy and the wrk load generator for the benchmarks, systemd for a real user manager under
# `gatepass proxy install`) when some are missing: with apt-get
# as root, through sudo otherwise.
# `npm test` runs this first, so the README's test command works on a fresh machine; `.ci/run`
# runs `npm test` too. Nothing happens when every package is there, or on a system without apt
# (the end-to-end set-up then names what is missing).
set -euo pipefail

packages=(chromium gnome-keyring dbus dbus-x11 libsecret-tools nginx-light haproxy wrk zsh fish systemd)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: no apt on this system; install ${packages[*]} (or equivalents) yourself" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0

echo "test-deps: installing Debian packages the end-to-end tests need: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "test-deps: not root and no sudo: run as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
