#!/usr/bin/env bash
# A real single-node Slurm cluster on loopback for the Slurm tests (tests/services/test_slurm*.py).
#
# Usage (as root):  tests/cluster/setup_slurm.sh [start|restart|stop]
#   start    (default) install, configure and start munged, slurmctld and slurmd, then wait
#            until the node is idle; safe to run again at any time (also while jobs run)
#   restart  stop then start (e.g. after editing this script's slurm.conf)
#   stop     stop slurmd, slurmctld and munged
#
# The node is this host (`hostname -s`) at 127.0.0.1, one default partition `debug`, no
# accounting (use squeue / scontrol show job, not sacct). Own spool, log and pid directories.
# The login `eflows` of setup_sshd.sh can submit: sbatch & co. are in /usr/bin, on the PATH of a
# non-login SSH command, and the munge socket is world-usable.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CONF=/etc/slurm/slurm.conf
SPOOL=/var/spool/eflows-slurm
LOGS=/var/log/eflows-slurm
RUN=/run/eflows-slurm
CTLD_PID="$RUN/slurmctld.pid"
SLURMD_PID="$RUN/slurmd.pid"
MUNGE_KEY=/etc/munge/munge.key
MUNGE_PID=/run/munge/munged.pid
NODE="$(hostname -s)"
# replace_if_changed, running_pid, stop_pid, detached, wait_node_up
. "$HERE/daemons.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup_slurm.sh must run as root (it starts munged, slurmctld and slurmd)" >&2
    exit 1
fi

install_packages() {
    if [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/munged ]; then
        bash "$REPO/scripts/install-system-packages.sh"
    fi
    [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/munged ] \
        || { echo "slurm-wlm / munge are not installed" >&2; exit 1; }
}

# ---- munge -------------------------------------------------------------------------------
munge_running() {
    [ -s "$MUNGE_PID" ] && kill -0 "$(cat "$MUNGE_PID")" 2>/dev/null
}

setup_munge() {
    mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
    chmod 700 /etc/munge /var/lib/munge /var/log/munge
    chmod 755 /run/munge  # clients (any user) reach the socket through it
    # 1 KiB of random key. Debian's postinst writes a shorter one: replace it, but only while
    # munged is not running (a live daemon keeps the key it read at start).
    if [ ! -s "$MUNGE_KEY" ] || { [ "$(stat -c %s "$MUNGE_KEY")" -ne 1024 ] && ! munge_running; }
    then
        head -c 1024 /dev/urandom > "$MUNGE_KEY.tmp"
        mv "$MUNGE_KEY.tmp" "$MUNGE_KEY"
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 400 "$MUNGE_KEY"
    if ! munge_running; then
        rm -f "$MUNGE_PID"
        detached runuser -u munge -- /usr/sbin/munged --force
    fi
    for _ in $(seq 1 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "munged does not answer (munge -n | unmunge fails)" >&2
    exit 1
}

# ---- slurm.conf --------------------------------------------------------------------------
CONFIG_CHANGED=0

write_config() {
    local cpus mem
    # getconf, not nproc: nproc obeys OMP_NUM_THREADS, which Dask sets to 1 in its workers
    # (a test run from there would shrink the node and restart Slurm under everyone).
    cpus="$(getconf _NPROCESSORS_ONLN)"; [ "$cpus" -gt 2 ] && cpus=2
    mem="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"; [ "$mem" -gt 4000 ] && mem=4000
    mkdir -p /etc/slurm "$SPOOL/ctld" "$SPOOL/d" "$LOGS" "$RUN"
    chmod 755 /etc/slurm "$SPOOL" "$LOGS" "$RUN"
    cat > "$CONF.tmp" <<CONF
# Written by tests/cluster/setup_slurm.sh: the eflows single-node test cluster.
ClusterName=eflows-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Schedule every second (default 60 s / 30 s): queued test jobs start without a long wait.
SchedulerParameters=sched_interval=1,bf_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
# Short timers so tests see cancellations and completions quickly.
KillWait=5
MinJobAge=600
InactiveLimit=0
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
    if replace_if_changed "$CONF.tmp" "$CONF"; then
        CONFIG_CHANGED=1
    fi
    chmod 644 "$CONF"
}

# ---- daemons -----------------------------------------------------------------------------
start_slurm() {
    if [ "$CONFIG_CHANGED" = 1 ]; then
        # A changed slurm.conf (node size, timers) needs both daemons to read it again.
        stop_pid "$SLURMD_PID" slurmd
        stop_pid "$CTLD_PID" slurmctld
    fi
    if ! running_pid "$CTLD_PID" slurmctld >/dev/null; then
        detached /usr/sbin/slurmctld
    fi
    for _ in $(seq 1 100); do
        scontrol ping 2>/dev/null | grep -q UP && break
        sleep 0.1
    done
    scontrol ping | grep -q UP || { echo "slurmctld does not answer; see $LOGS/slurmctld.log" >&2; exit 1; }
    if ! running_pid "$SLURMD_PID" slurmd >/dev/null; then
        detached /usr/sbin/slurmd -N "$NODE"
    fi
}

wait_idle() {
    wait_node_up "$NODE" "$LOGS"
}

stop_all() {
    stop_pid "$SLURMD_PID" slurmd
    stop_pid "$CTLD_PID" slurmctld
    if munge_running; then
        kill "$(cat "$MUNGE_PID")" || true
        sleep 0.2
    fi
}

case "${1:-start}" in
    start)
        install_packages; setup_munge; write_config; start_slurm; wait_idle ;;
    restart)
        install_packages; stop_all; setup_munge; write_config; start_slurm; wait_idle ;;
    stop)
        stop_all; echo "eflows test Slurm stopped"; exit 0 ;;
    *)
        echo "usage: $0 [start|restart|stop]" >&2; exit 2 ;;
esac
echo "eflows test Slurm: node $NODE, partition debug: $(sinfo -h -N -n "$NODE" -o '%T %c CPUs %m MB')"
