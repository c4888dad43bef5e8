#!/usr/bin/env bash
# A real OpenSSH server on 127.0.0.1:2222 for the site tests (tests/services/test_sites*.py).
#
# Usage (as root):  tests/cluster/setup_sshd.sh [start|restart|rotate-host-key|stop]
#   start            (default) install, configure and start; safe to run again at any time
#   restart          restart the test sshd (e.g. after restoring saved host keys)
#   rotate-host-key  make a NEW host key and restart: clients pinned to the old one must refuse
#   stop             stop the test sshd
#
# It never touches the system sshd (/etc/ssh): own config, own host keys, own pid file.
# The login `eflows` and its password are for tests only (EFLOWS_TEST_PASSWORD).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CONF_DIR=/etc/eflows-test-sshd
CONFIG="$CONF_DIR/sshd_config"
HOST_KEY="$CONF_DIR/ssh_host_ed25519_key"
PID_FILE=/run/eflows-test-sshd.pid
PORT="${EFLOWS_TEST_SSHD_PORT:-2222}"
LOGIN=eflows
# A second account for the browser journey, so its tests never race the service tests'
# resets of ~eflows/.ssh.
UI_LOGIN=eflows-ui
PASSWORD="${EFLOWS_TEST_PASSWORD:-eflows-test-pw}"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup_sshd.sh must run as root (it creates a user and starts sshd)" >&2
    exit 1
fi

install_packages() {
    [ -x /usr/sbin/sshd ] || bash "$REPO/scripts/install-system-packages.sh"
    [ -x /usr/sbin/sshd ] || { echo "openssh-server is not installed" >&2; exit 1; }
}

ensure_user() {
    for user in "$LOGIN" "$UI_LOGIN"; do
        if ! id "$user" >/dev/null 2>&1; then
            useradd -m -s /bin/bash "$user"
        fi
        # A password (test-only) also unlocks the account: sshd refuses locked ones ("!").
        echo "$user:$PASSWORD" | chpasswd
    done
}

ensure_host_key() {
    mkdir -p "$CONF_DIR"
    chmod 755 "$CONF_DIR"
    if [ ! -s "$HOST_KEY" ]; then
        rm -f "$HOST_KEY" "$HOST_KEY.pub"
        ssh-keygen -q -t ed25519 -N "" -C "eflows-test-sshd" -f "$HOST_KEY"
    fi
    chmod 600 "$HOST_KEY"
}

write_config() {
    cat > "$CONFIG.tmp" <<CONF
# Written by tests/cluster/setup_sshd.sh: the eflows test sshd (not the system one).
Port $PORT
ListenAddress 127.0.0.1
HostKey $HOST_KEY
PidFile $PID_FILE
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PermitRootLogin no
UsePAM no
AllowUsers $LOGIN $UI_LOGIN
AuthorizedKeysFile .ssh/authorized_keys
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel VERBOSE
CONF
    mv "$CONFIG.tmp" "$CONFIG"
    mkdir -p /run/sshd  # sshd's privilege-separation directory; /run is empty after a reboot
    chmod 755 /run/sshd
    /usr/sbin/sshd -t -f "$CONFIG"
}

running_pid() {
    [ -s "$PID_FILE" ] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    kill -0 "$pid" 2>/dev/null || return 1
    # The pid must really be our sshd, not a recycled number.
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-f $CONFIG" || return 1
    echo "$pid"
}

wait_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "the test sshd does not answer on 127.0.0.1:$PORT" >&2
    exit 1
}

start() {
    if ! running_pid >/dev/null; then
        /usr/sbin/sshd -f "$CONFIG"
    fi
    wait_port
}

stop() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$PID_FILE"
}

case "${1:-start}" in
    start)
        install_packages; ensure_user; ensure_host_key; write_config; start ;;
    restart)
        install_packages; ensure_user; ensure_host_key; write_config; stop; start ;;
    rotate-host-key)
        rm -f "$HOST_KEY" "$HOST_KEY.pub"
        install_packages; ensure_user; ensure_host_key; write_config; stop; start ;;
    stop)
        stop ;;
    *)
        echo "usage: $0 [start|restart|rotate-host-key|stop]" >&2; exit 2 ;;
esac
echo "eflows test sshd: 127.0.0.1:$PORT, login $LOGIN, host key $(ssh-keygen -lf "$HOST_KEY.pub" | cut -d' ' -f2)"
