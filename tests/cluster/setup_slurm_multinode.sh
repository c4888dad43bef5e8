#!/usr/bin/env bash
# A second, multi-node Slurm cluster on this machine, and its own SSH login node.
#
# Usage (as root):  tests/cluster/setup_slurm_multinode.sh [start|restart|stop|status]
#   start    (default) set up and start whatever is not running, then wait until every node
#            is idle; safe to run again at any time (also while jobs run)
#   restart  stop then start (e.g. after editing this script's slurm.conf)
#   stop     stop the nodes, slurmctld and the login sshd, remove the network namespaces
#   status   print the nodes' states
#
# Nothing of the single-node test cluster (setup_slurm.sh: /etc/slurm, ports 6817/6818) or
# of its sshd (port 2222) is touched: this cluster has its own ClusterName, config dir
# (SLURM_CONF), ports, spool/log/pid dirs and login. Only munged is shared (same key).
#
# Nodes: efm-n1..efm-nN (EFLOWS_MULTI_NODES, default 2), each a slurmd in a network namespace
# of its own (and its own host name), at 10.77.77.11.. on an isolated bridge (10.77.77.1 is
# the bridge, where slurmctld runs as this host). The namespaces have no default route and the host
# does not forward, so nothing reaches beyond this machine. Each node declares the machine's
# cores (at most 2) and 2000 MB; partition `multi` holds all of them.
# Login: sshd on 127.0.0.1:2223 (EFLOWS_MULTI_SSHD_PORT), user `eflows-site2`, password
# EFLOWS_TEST_PASSWORD (default eflows-test-pw); its sessions get SLURM_CONF of this cluster.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NAME=eflows-multi
CONF_DIR=/etc/slurm-$NAME
CONF=$CONF_DIR/slurm.conf
SPOOL=/var/spool/$NAME
LOGS=/var/log/$NAME
RUN=/run/$NAME
CTLD_PID=$RUN/slurmctld.pid
NODES="${EFLOWS_MULTI_NODES:-2}"
BRIDGE=efm-br0
NET=10.77.77
CTL_ADDR=$NET.1
CTLD_PORT=6827
SLURMD_PORT=6828
SSHD_DIR=/etc/eflows-multi-sshd
SSHD_CONFIG=$SSHD_DIR/sshd_config
SSHD_KEY=$SSHD_DIR/ssh_host_ed25519_key
SSHD_PID=/run/eflows-multi-sshd.pid
SSHD_PORT="${EFLOWS_MULTI_SSHD_PORT:-2223}"
LOGIN=eflows-site2
PASSWORD="${EFLOWS_TEST_PASSWORD:-eflows-test-pw}"
export SLURM_CONF=$CONF

if [ "$(id -u)" -ne 0 ]; then
    echo "setup_slurm_multinode.sh must run as root (network namespaces, daemons)" >&2
    exit 1
fi

node_name() { echo "efm-n$1"; }
node_addr() { echo "$NET.$((10 + $1))"; }

# ---- prerequisites: packages and munged (setup_slurm.sh owns munge's setup) --------------
prerequisites() {
    if [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/sshd ] || ! command -v ip >/dev/null
    then
        bash "$REPO/scripts/install-system-packages.sh"
    fi
    if ! { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }; then
        bash "$HERE/setup_slurm.sh" start >/dev/null
    fi
}

# ---- network: a bridge, one namespace + veth per node ------------------------------------
setup_network() {
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
    fi
    ip addr replace "$CTL_ADDR/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    local i ns host_if
    mkdir -p /etc/netns
    for i in $(seq 1 "$NODES"); do
        ns="$(node_name "$i")"
        host_if="efm-v$i"
        ip netns list | grep -qw "^$ns" || ip netns add "$ns"
        if ! ip link show "$host_if" >/dev/null 2>&1; then
            ip link add "$host_if" type veth peer name eth0 netns "$ns"
        fi
        ip link set "$host_if" master "$BRIDGE" up
        ip netns exec "$ns" ip addr replace "$(node_addr "$i")/24" dev eth0
        ip netns exec "$ns" ip link set eth0 up
        ip netns exec "$ns" ip link set lo up
        # Bind-mounted over /etc/hosts for the node's processes only (start_slurm): the
        # nodes know each other by name, the host's own file is untouched.
        mkdir -p "/etc/netns/$ns"
        hosts_file > "/etc/netns/$ns/hosts"
    done
}

hosts_file() {
    echo "127.0.0.1 localhost"
    echo "$CTL_ADDR efm-ctl $(hostname -s)"
    local i
    for i in $(seq 1 "$NODES"); do
        echo "$(node_addr "$i") $(node_name "$i")"
    done
}

remove_network() {
    local i
    for i in $(seq 1 "$NODES"); do
        ip link del "efm-v$i" 2>/dev/null || true
        ip netns del "$(node_name "$i")" 2>/dev/null || true
        rm -rf "/etc/netns/$(node_name "$i")"
    done
    ip link del "$BRIDGE" 2>/dev/null || true
}

# ---- slurm.conf --------------------------------------------------------------------------
CONFIG_CHANGED=0

write_config() {
    local cpus i nodes=""
    cpus="$(getconf _NPROCESSORS_ONLN)"; [ "$cpus" -gt 2 ] && cpus=2
    mkdir -p "$CONF_DIR" "$SPOOL/ctld" "$LOGS" "$RUN"
    for i in $(seq 1 "$NODES"); do
        mkdir -p "$SPOOL/$(node_name "$i")"
        nodes="$nodes${nodes:+,}$(node_name "$i")"
    done
    chmod 755 "$CONF_DIR" "$SPOOL" "$LOGS" "$RUN"
    {
        cat <<CONF
# Written by tests/cluster/setup_slurm_multinode.sh: the eflows multi-node test cluster.
ClusterName=$NAME
SlurmctldHost=$(hostname -s)($CTL_ADDR)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
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
SchedulerParameters=sched_interval=1,bf_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/%n
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$RUN/slurmd-%n.pid
# Each node's own temporary directory (PMIx's per-node files go there), though /tmp
# itself is the machine's, shared by all nodes like a cluster file system.
TmpFS=$RUN/node-tmp
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd-%n.log
CONF
        for i in $(seq 1 "$NODES"); do
            echo "NodeName=$(node_name "$i") NodeAddr=$(node_addr "$i") CPUs=$cpus" \
                 "RealMemory=2000 State=UNKNOWN"
        done
        echo "PartitionName=multi Nodes=$nodes Default=YES MaxTime=INFINITE State=UP"
    } > "$CONF.tmp"
    if cmp -s "$CONF.tmp" "$CONF"; then
        rm -f "$CONF.tmp"
    else
        mv "$CONF.tmp" "$CONF"
        CONFIG_CHANGED=1
    fi
    chmod 644 "$CONF"
}

# ---- daemons -----------------------------------------------------------------------------
running_pid() {  # running_pid PIDFILE PATTERN
    [ -s "$1" ] || return 1
    local pid
    pid="$(cat "$1")"
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
    echo "$pid"
}

stop_pid() {  # stop_pid PIDFILE PATTERN
    local pid
    if pid="$(running_pid "$1" "$2")"; then
        kill "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$1"
}

start_slurm() {
    local i node
    if [ "$CONFIG_CHANGED" = 1 ]; then
        stop_nodes
        stop_pid "$CTLD_PID" "slurmctld -f $CONF"
    fi
    if ! running_pid "$CTLD_PID" "slurmctld -f $CONF" >/dev/null; then
        /usr/sbin/slurmctld -f "$CONF"
    fi
    for _ in $(seq 1 100); do
        scontrol ping 2>/dev/null | grep -q UP && break
        sleep 0.1
    done
    scontrol ping | grep -q UP \
        || { echo "slurmctld ($NAME) does not answer; see $LOGS/slurmctld.log" >&2; exit 1; }
    for i in $(seq 1 "$NODES"); do
        node="$(node_name "$i")"
        if ! running_pid "$RUN/slurmd-$node.pid" "slurmd -D -f $CONF" >/dev/null; then
            # Its own network, host name, /etc/hosts (the nodes' names) and TmpFS: jobs on it
            # see `hostname` = the node's name. (Not `ip netns exec`: it remounts /sys
            # without the cgroup file systems slurmd needs.)
            # slurmd stays in the foreground (-D) under unshare, detached from this script,
            # so no exited parent is left unreaped; its pid file is written here (slurmd
            # writes none in the foreground).
            setsid -f nsenter --net="/run/netns/$node" unshare --mount --uts --fork \
                /bin/sh -c "mount --bind /etc/netns/$node/hosts /etc/hosts &&
                mkdir -p $SPOOL/$node/tmp $RUN/node-tmp &&
                mount --bind $SPOOL/$node/tmp $RUN/node-tmp &&
                hostname $node && echo \$\$ > $RUN/slurmd-$node.pid &&
                exec /usr/sbin/slurmd -D -f $CONF -N $node" \
                </dev/null >>"$LOGS/slurmd-$node.out" 2>&1
            for _ in $(seq 1 100); do
                running_pid "$RUN/slurmd-$node.pid" "slurmd -D -f $CONF" >/dev/null && break
                sleep 0.1
            done
        fi
    done
}

stop_nodes() {
    local i node
    for i in $(seq 1 "$NODES"); do
        node="$(node_name "$i")"
        stop_pid "$RUN/slurmd-$node.pid" "slurmd -D -f $CONF"
    done
}

wait_idle() {
    local i node state
    for i in $(seq 1 "$NODES"); do
        node="$(node_name "$i")"
        state=""
        for _ in $(seq 1 300); do
            state="$(sinfo -h -N -n "$node" -o '%T' 2>/dev/null | head -n1)"
            case "$state" in
                idle|mixed|allocated|completing) break ;;
                down*|drain*|drained*|fail*)
                    scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;;
            esac
            sleep 0.1
        done
        case "$state" in
            idle|mixed|allocated|completing) ;;
            *) echo "node $node is not idle (sinfo says '$state'); see $LOGS/" >&2; exit 1 ;;
        esac
    done
}

# ---- the login node: sshd on 127.0.0.1:$SSHD_PORT ------------------------------------------
setup_login() {
    if ! id "$LOGIN" >/dev/null 2>&1; then
        useradd -m -s /bin/bash "$LOGIN"
    fi
    echo "$LOGIN:$PASSWORD" | chpasswd
    mkdir -p "$SSHD_DIR" /run/sshd
    chmod 755 "$SSHD_DIR" /run/sshd
    if [ ! -s "$SSHD_KEY" ]; then
        rm -f "$SSHD_KEY" "$SSHD_KEY.pub"
        ssh-keygen -q -t ed25519 -N "" -C "eflows-multi-sshd" -f "$SSHD_KEY"
    fi
    chmod 600 "$SSHD_KEY"
    cat > "$SSHD_CONFIG.tmp" <<CONF
# Written by tests/cluster/setup_slurm_multinode.sh: the login node of the $NAME cluster.
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_KEY
PidFile $SSHD_PID
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PermitRootLogin no
UsePAM no
AllowUsers $LOGIN
AuthorizedKeysFile .ssh/authorized_keys
Subsystem sftp /usr/lib/openssh/sftp-server
# sbatch & co. of this cluster, not the single-node one.
SetEnv SLURM_CONF=$CONF
LogLevel VERBOSE
CONF
    mv "$SSHD_CONFIG.tmp" "$SSHD_CONFIG"
    /usr/sbin/sshd -t -f "$SSHD_CONFIG"
    if ! running_pid "$SSHD_PID" "-f $SSHD_CONFIG" >/dev/null; then
        /usr/sbin/sshd -f "$SSHD_CONFIG"
    fi
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "the $NAME login sshd does not answer on 127.0.0.1:$SSHD_PORT" >&2
    exit 1
}

status() {
    sinfo -N -o '%N %T %c %m %P' 2>/dev/null || echo "slurmctld ($NAME) is not running"
}

start() {
    prerequisites; setup_network; write_config; start_slurm; wait_idle; setup_login
}

stop_all() {
    stop_pid "$SSHD_PID" "-f $SSHD_CONFIG"
    stop_nodes
    stop_pid "$CTLD_PID" "slurmctld -f $CONF"
    remove_network
}

case "${1:-start}" in
    start) start ;;
    restart) stop_all; start ;;
    stop) stop_all; echo "$NAME stopped"; exit 0 ;;
    status) status; exit 0 ;;
    *) echo "usage: $0 [start|restart|stop|status]" >&2; exit 2 ;;
esac
echo "$NAME: SLURM_CONF=$CONF, login $LOGIN@127.0.0.1:$SSHD_PORT, host key" \
     "$(ssh-keygen -lf "$SSHD_KEY.pub" | cut -d' ' -f2)"
status
