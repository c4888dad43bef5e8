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
# Accounting: slurmdbd (10.77.77.1:6829) on a MariaDB of its own (127.0.0.1:6830, datadir
# /var/lib/eflows-multi-db); associations enforced: account `eflows-proj` holds the login,
# which may use QOS `normal` (its default) and `eflows-high`; root keeps account `root`.
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
# Accounting storage: MariaDB (own datadir, socket, port; no system config read) and slurmdbd.
DB_DIR=/var/lib/$NAME-db
DB_RUN=$RUN/db
DB_SOCKET=$DB_RUN/mariadb.sock
DB_PID=$DB_RUN/mariadb.pid
DB_PORT=6830
DB_NAME=slurm_acct_eflows_multi
DB_USER=slurm
DB_PASSWORD_FILE=$CONF_DIR/db-password
DBD_CONF=$CONF_DIR/slurmdbd.conf
DBD_PID=$RUN/slurmdbd.pid
DBD_PORT=6829
ACCOUNT=eflows-proj
QOS_LIST="normal eflows-high"
export SLURM_CONF=$CONF
# replace_if_changed, running_pid, stop_pid, detached, wait_node_up
. "$HERE/daemons.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup_slurm_multinode.sh must run as root (network namespaces, daemons)" >&2
    exit 1
fi

node_name() { echo "efm-n$1"; }
node_addr() { echo "$NET.$((10 + $1))"; }

# ---- prerequisites: packages and munged (setup_slurm.sh owns munge's setup) --------------
prerequisites() {
    if [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/sshd ] || ! command -v ip >/dev/null \
        || [ ! -x /usr/sbin/mariadbd ] || [ ! -x /usr/sbin/slurmdbd ]
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

# ---- accounting: MariaDB, slurmdbd, associations and QOS --------------------------------
db() {  # db SQL: as MariaDB's root (unix-socket authentication: this script's root)
    mariadb --no-defaults --socket="$DB_SOCKET" -u root -N -B -e "$1"
}

setup_database() {
    mkdir -p "$DB_DIR" "$DB_RUN" "$LOGS"
    chown mysql:mysql "$DB_DIR" "$DB_RUN"
    chmod 750 "$DB_DIR"
    if [ ! -d "$DB_DIR/mysql" ]; then
        mariadb-install-db --no-defaults --datadir="$DB_DIR" --user=mysql \
            --auth-root-authentication-method=socket --skip-test-db >"$LOGS/mariadb-install.log" 2>&1 \
            || { echo "mariadb-install-db failed; see $LOGS/mariadb-install.log" >&2; exit 1; }
    fi
    if ! running_pid "$DB_PID" "mariadbd --no-defaults --datadir=$DB_DIR" >/dev/null; then
        # Small: a few thousand job records, on a shared 2-core machine.
        detached setsid -f /usr/sbin/mariadbd --no-defaults --datadir="$DB_DIR" --user=mysql \
            --socket="$DB_SOCKET" --pid-file="$DB_PID" --port="$DB_PORT" \
            --bind-address=127.0.0.1 --skip-name-resolve --log-error="$LOGS/mariadb.log" \
            --innodb-buffer-pool-size=32M --innodb-lock-wait-timeout=900 \
            --max-connections=50 </dev/null >/dev/null 2>&1
    fi
    for _ in $(seq 1 300); do
        db "SELECT 1" >/dev/null 2>&1 && break
        sleep 0.1
    done
    db "SELECT 1" >/dev/null || { echo "MariaDB ($NAME) does not answer; see $LOGS/mariadb.log" >&2; exit 1; }
    if [ ! -s "$DB_PASSWORD_FILE" ]; then
        mkdir -p "$CONF_DIR"
        (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$DB_PASSWORD_FILE")
    fi
    chmod 600 "$DB_PASSWORD_FILE"
    local password
    password="$(cat "$DB_PASSWORD_FILE")"
    db "CREATE DATABASE IF NOT EXISTS $DB_NAME;
        CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$password';
        ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$password';
        GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'127.0.0.1';"
}

setup_slurmdbd() {
    local changed=0
    (umask 077; cat > "$DBD_CONF.tmp" <<CONF
# Written by tests/cluster/setup_slurm_multinode.sh: accounting of the $NAME cluster.
AuthType=auth/munge
DbdHost=localhost
DbdAddr=$CTL_ADDR
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$DBD_PID
LogFile=$LOGS/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=$DB_USER
StoragePass=$(cat "$DB_PASSWORD_FILE")
StorageLoc=$DB_NAME
CONF
    )
    replace_if_changed "$DBD_CONF.tmp" "$DBD_CONF" && changed=1
    chmod 600 "$DBD_CONF"  # it holds the database password; slurmdbd insists on it
    if [ "$changed" = 1 ]; then
        stop_pid "$DBD_PID" "slurmdbd"
    fi
    if ! running_pid "$DBD_PID" "slurmdbd" >/dev/null; then
        # slurmdbd reads slurmdbd.conf beside SLURM_CONF.
        detached /usr/sbin/slurmdbd
    fi
    for _ in $(seq 1 300); do
        sacctmgr -n -P show cluster format=cluster >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "slurmdbd ($NAME) does not answer; see $LOGS/slurmdbd.log" >&2
    exit 1
}

# sacctmgr refuses to add what exists: every step looks first, so a second run adds nothing.
setup_associations() {
    local qos want
    want="$(tr ' ' '\n' <<<"$QOS_LIST" | sort | paste -sd, -)|normal"
    # The usual case, one query: all is there (the login's QOS and its default).
    if [ "$(sacctmgr -n -P show assoc cluster="$NAME" account="$ACCOUNT" user="$LOGIN" \
            format=qos,defaultqos 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    if [ -z "$(sacctmgr -n -P show cluster "$NAME" format=cluster)" ]; then
        sacctmgr -i -Q add cluster "$NAME" >/dev/null
    fi
    for qos in $QOS_LIST; do  # `normal` comes with slurmdbd; the others rank above it
        if [ -z "$(sacctmgr -n -P show qos "$qos" format=name)" ]; then
            sacctmgr -i -Q add qos "$qos" Priority=100 >/dev/null
        fi
    done
    if [ -z "$(sacctmgr -n -P show account "$ACCOUNT" format=account)" ]; then
        sacctmgr -i -Q add account "$ACCOUNT" Cluster="$NAME" Description="eflows tests" \
            Organization=eflows >/dev/null
    fi
    if [ -z "$(sacctmgr -n -P show assoc cluster="$NAME" account="$ACCOUNT" user="$LOGIN" \
               format=user)" ]; then
        sacctmgr -i -Q add user "$LOGIN" Cluster="$NAME" Account="$ACCOUNT" \
            DefaultAccount="$ACCOUNT" >/dev/null
    fi
    sacctmgr -i -Q modify user "$LOGIN" where cluster="$NAME" account="$ACCOUNT" \
        set QOS="${QOS_LIST// /,}" DefaultQOS=normal >/dev/null
}

setup_accounting() {
    setup_database; setup_slurmdbd; setup_associations
}

stop_accounting() {
    stop_pid "$DBD_PID" "slurmdbd"
    stop_pid "$DB_PID" "mariadbd --no-defaults --datadir=$DB_DIR"
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
# Accounting in slurmdbd: sacct works, and a QOS or account not in the submitter's
# associations is refused at submission (as on a production cluster).
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$CTL_ADDR
AccountingStoragePort=$DBD_PORT
AccountingStorageEnforce=associations,limits,qos
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
    if replace_if_changed "$CONF.tmp" "$CONF"; then
        CONFIG_CHANGED=1
    fi
    chmod 644 "$CONF"
}

# ---- daemons -----------------------------------------------------------------------------
start_slurm() {
    local i node
    if [ "$CONFIG_CHANGED" = 1 ]; then
        stop_nodes
        stop_pid "$CTLD_PID" "slurmctld -f $CONF"
    fi
    if ! running_pid "$CTLD_PID" "slurmctld -f $CONF" >/dev/null; then
        detached /usr/sbin/slurmctld -f "$CONF"
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
            detached setsid -f nsenter --net="/run/netns/$node" unshare --mount --uts --fork \
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
    local i
    for i in $(seq 1 "$NODES"); do
        wait_node_up "$(node_name "$i")" "$LOGS"
    done
}

# ---- the login node: sshd on 127.0.0.1:$SSHD_PORT ------------------------------------------
# The Unix user exists before its association is added: slurmctld resolves the
# association's user name to a uid once, and one added for a user not there yet keeps
# no uid (its jobs are refused "Invalid account" even after the user is made).
create_login_user() {
    if ! id "$LOGIN" >/dev/null 2>&1; then
        useradd -m -s /bin/bash "$LOGIN"
    fi
}

setup_login() {
    create_login_user
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
        detached /usr/sbin/sshd -f "$SSHD_CONFIG"
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
    sacctmgr -n -P show assoc cluster="$NAME" format=account,user,qos 2>/dev/null \
        | sed 's/^/association: /' || echo "slurmdbd ($NAME) is not running"
}

start() {
    # sacctmgr reads slurm.conf (where slurmdbd is); the cluster must be in the accounting
    # database before slurmctld starts with it.
    prerequisites; create_login_user; setup_network; write_config; setup_accounting
    start_slurm; wait_idle
    setup_login
}

stop_all() {
    stop_pid "$SSHD_PID" "-f $SSHD_CONFIG"
    stop_nodes
    stop_pid "$CTLD_PID" "slurmctld -f $CONF"
    stop_accounting
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
