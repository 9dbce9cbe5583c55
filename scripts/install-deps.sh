#!/usr/bin/env bash
# Installs the Debian packages the project needs, if any is missing. Safe to run again.
set -euo pipefail
# chromium and the CJK fonts: the report test renders the Chinese report to PNG and PDF in headless Chromium;
# poppler-utils: it reads the PDF back (pdfinfo) and keeps its first page as a PNG (pdftoppm).
packages=(librdkafka-dev libpq-dev libsqlite3-dev postgresql pkg-config chromium fonts-noto-cjk fonts-liberation iptables socat openssl poppler-utils)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || [[ -x /opt/swift/usr/bin/swift ]] || {
    echo "Swift 6 is needed (https://www.swift.org/install/linux/); put it on PATH" >&2
    exit 1
}
