#!/usr/bin/env bash
# Install everything yunwei needs on a Debian 12 bastion (or CI machine), then the
# Python virtual environment. Safe to re-run: apt skips what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
# Host packages: the lab (podman + runc + debootstrap; netavark + aardvark-dns so lab hosts
# resolve each other by name: with --no-install-recommends apt would otherwise satisfy
# podman's network stack with CNI plugins, which have no DNS), a PostgreSQL server for the
# store tests, Chromium and a CJK font for rendering reports, OpenSSH for signatures;
# linkchecker checks the website's links (web-audit);
# LibreOffice (headless) renders the signed PDF copy of the reports, poppler-utils reads PDFs back;
# OpenSCAP (oscap) evaluates the imported OVAL feed, nmap checks the hosts' network exposure.
PACKAGES=(
  podman runc debootstrap uidmap slirp4netns netavark aardvark-dns iptables
  openssh-client git make python3-venv
  wrk
  postgresql
  chromium fonts-noto-cjk fonts-liberation2
  linkchecker
  libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils
  openscap-scanner nmap
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
    echo "bootstrap: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # A package's postinst may try to start its service; without systemd that can fail
  # harmlessly, so policy-rc.d keeps services down: the project starts what it needs.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The reports name the Windows fonts (宋体, 黑体) that Office/WPS have; map them to Noto CJK here.
FONTCONF=/etc/fonts/conf.d/65-yunwei-cjk-aliases.conf
if ! cmp -s scripts/fontconfig/65-yunwei-cjk-aliases.conf "$FONTCONF" 2>/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    install -m 0644 scripts/fontconfig/65-yunwei-cjk-aliases.conf "$FONTCONF" && fc-cache -f >/dev/null
  else
    echo "bootstrap: as root, install scripts/fontconfig/65-yunwei-cjk-aliases.conf into /etc/fonts/conf.d/" >&2
  fi
fi

# a bootstrap killed while creating the venv leaves one without pip: start that one again
if [[ ! -x "$VENV/bin/python" || ! -x "$VENV/bin/pip" ]]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip
# promtool (checks Prometheus rules on the bastion before they reach the monitoring host): taken from
# Debian's prometheus package without installing it, so the bastion runs no Prometheus server.
if [[ ! -x "$VENV/bin/promtool" ]]; then
  tmp=$(mktemp -d) && chmod 0755 "$tmp"  # readable by apt's sandbox user
  (cd "$tmp" && apt-get download -q prometheus >/dev/null && dpkg-deb -x prometheus_*.deb root) \
    && install -m 0755 "$tmp/root/usr/bin/promtool" "$VENV/bin/promtool"
  rm -rf "$tmp"
fi
# the package with the bastion's and the developers' extras, and the development tools (the lab,
# synthetic journals: tests/devtools, never shipped), both editable
"$VENV/bin/pip" install -q -e '.[bastion,dev]' -e ./tests/devtools
# Lighthouse (web-audit, docs/web_quality.md) from npm, pinned, into the venv (not global): 12.x runs on
# Node 18/20 (13 needs Node 22). Node.js from Debian when the machine has none.
LIGHTHOUSE_VERSION=12.2.3
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: node and npm are missing: sudo apt-get install -y nodejs npm" >&2
    exit 2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
fi
if [[ "$("$VENV/lighthouse/node_modules/.bin/lighthouse" --version 2>/dev/null)" != "$LIGHTHOUSE_VERSION" ]]; then
  npm install --prefix "$VENV/lighthouse" --no-audit --no-fund --loglevel=error "lighthouse@$LIGHTHOUSE_VERSION"
fi
ln -sfn ../lighthouse/node_modules/.bin/lighthouse "$VENV/bin/lighthouse"
echo "bootstrap: ready (ansible-core $("$VENV/bin/python" -c 'import ansible.release as r; print(r.__version__)'))"
