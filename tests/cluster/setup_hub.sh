#!/usr/bin/env bash
# What the test JupyterHub (tests/plugins/hub.py) needs besides the test Slurm: its users,
# and an environment for their servers that their accounts can run.
#
# Usage (as root):  tests/cluster/setup_hub.sh [VENV]
#   idempotent: creates what is missing, resets the passwords, never touches other accounts.
#   Prints the servers' environment (the last line): EFLOWS_SERVER_ENV=<path>.
#
# Users: eflows-alice, eflows-bob (EFLOWS_HUB_USERS), password EFLOWS_TEST_PASSWORD (default
# eflows-test-pw), homes mode 0700 (one user's state, vault key and runs are not readable by
# the other), both in the Unix group eflows-hub-users, which the hub lets log in (PAM's
# allowed_groups). Their JupyterHub groups (physics, chemistry) are the hub's own
# (docs/centre/jupyterhub_config.py), not Unix groups.
#
# The servers' environment: at a centre, the users' Jupyter environment on the shared
# filesystem. Here the test virtualenv VENV (default: the repository's .venv) has it all,
# but its interpreter may sit where only root can reach it (pyenv under /root), so
# /opt/eflows-hub/env-<hash of VENV> is a virtualenv of the system python3 (same minor
# version) that reads VENV's packages (a .pth file) and shares its share/ and etc/ (the
# kernels, the lab extension, the server extensions' enablement); VENV's console scripts
# are copied with this interpreter in their first line.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$(cd "${1:-$HERE/../../.venv}" && pwd)"
USERS="${EFLOWS_HUB_USERS:-eflows-alice eflows-bob}"
PASSWORD="${EFLOWS_TEST_PASSWORD:-eflows-test-pw}"
GROUP=eflows-hub-users
SYSTEM_PYTHON=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
    echo "setup_hub.sh must run as root (it creates accounts)" >&2
    exit 1
fi

# ---- users ------------------------------------------------------------------------------
getent group "$GROUP" >/dev/null || groupadd "$GROUP"
for user in $USERS; do
    if ! id -u "$user" >/dev/null 2>&1; then
        useradd -m -s /bin/bash "$user"
    fi
    id -nG "$user" | tr ' ' '\n' | grep -qx "$GROUP" || usermod -aG "$GROUP" "$user"
    echo "$user:$PASSWORD" | chpasswd
    home="$(getent passwd "$user" | cut -d: -f6)"
    chmod 700 "$home"
done

# ---- the servers' environment -----------------------------------------------------------
version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }
venv_version="$(version "$VENV/bin/python")"
[ "$(version "$SYSTEM_PYTHON")" = "$venv_version" ] || {
    echo "$SYSTEM_PYTHON is not Python $venv_version (the one of $VENV)" >&2; exit 1; }
ENV="/opt/eflows-hub/env-$(echo -n "$VENV" | sha1sum | cut -c1-12)"
if [ ! -x "$ENV/bin/python" ]; then
    mkdir -p /opt/eflows-hub
    chmod 755 /opt/eflows-hub
    "$SYSTEM_PYTHON" -m venv --without-pip "$ENV"
fi
site_packages="$ENV/lib/python$venv_version/site-packages"
echo "import site; site.addsitedir('$VENV/lib/python$venv_version/site-packages')" \
    > "$site_packages/eflows-hub-shared.pth"
for dir in share etc; do
    ln -sfn "$VENV/$dir" "$ENV/$dir.tmp" && mv -T "$ENV/$dir.tmp" "$ENV/$dir"
done
for script in "$VENV"/bin/*; do
    name="$(basename "$script")"
    case "$name" in python*|activate*|pip*|Activate.ps1) continue ;; esac
    [ -f "$script" ] && head -n1 "$script" | grep -q "^#!$VENV/bin/python" || continue
    { echo "#!$ENV/bin/python"; tail -n +2 "$script"; } > "$ENV/bin/$name.tmp"
    chmod 755 "$ENV/bin/$name.tmp"
    mv "$ENV/bin/$name.tmp" "$ENV/bin/$name"
done
chmod -R a+rX "$ENV"
echo "hub users: $USERS (group $GROUP)"
echo "EFLOWS_SERVER_ENV=$ENV"
