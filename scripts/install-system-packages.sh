#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/system-packages.txt that are missing, then the
# npm packages of scripts/npm-packages.txt (global, like the Debian ones) that are missing.
set -euo pipefail
cd "$(dirname "$0")"

install_npm_packages() {
    local spec name version installed missing_npm=()
    while read -r spec; do
        name="${spec%@*}"; version="${spec##*@}"
        installed="$(npm ls -g --depth=0 --json "$name" 2>/dev/null \
            | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' | head -n1 || true)"
        [ "$installed" = "$version" ] || missing_npm+=("$spec")
    done < <(grep -v '^\s*#' npm-packages.txt | grep -v '^\s*$' || true)
    [ ${#missing_npm[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing npm packages: ${missing_npm[*]}; install them as root" \
             "(npm install -g ${missing_npm[*]})" >&2
        exit 1
    fi
    npm install -g --no-fund --no-audit --loglevel=error "${missing_npm[@]}"
}
mapfile -t wanted < <(grep -v '^\s*#' system-packages.txt | grep -v '^\s*$' || true)
missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
# npm ships inside some nodejs builds (NodeSource) and is a package of its own in Debian's.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: ${missing[*]}; install them as root" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
install_npm_packages
