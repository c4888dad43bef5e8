# Sourced (not run) by the test clusters' set-up scripts (setup_slurm.sh,
# setup_slurm_multinode.sh): how they keep a config file and a daemon without restarting
# what already runs with the same config, and wait for a node.

# replace_if_changed NEW TARGET: move NEW over TARGET if they differ (and say so with
# status 0), else drop NEW (status 1): a daemon is restarted only for a real change.
replace_if_changed() {
    if cmp -s "$1" "$2"; then
        rm -f "$1"
        return 1
    fi
    mv "$1" "$2"
}

# running_pid PIDFILE PATTERN: print the pid in PIDFILE if that process runs and its
# command line holds PATTERN (the pid must really be that daemon, not a recycled number).
running_pid() {
    [ -s "$1" ] || return 1
    local pid
    pid="$(cat "$1")"
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
    echo "$pid"
}

# detached CMD...: run CMD with only stdin, stdout and stderr of this script's descriptors.
# A daemon must not keep the others: munged started by a test run under
# `flock /tmp/eflows-e2e.lock` kept the lock's descriptor open, and held the lock for
# everyone until it was stopped.
detached() (
    for fd in /proc/$BASHPID/fd/*; do
        fd="${fd##*/}"
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec "$@"
)

# stop_pid PIDFILE PATTERN: stop that daemon (TERM, KILL after 10 s), remove PIDFILE.
stop_pid() {
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

# wait_node_up NODE LOGS: wait (30 s at most) until slurmctld (of SLURM_CONF) has NODE up,
# resuming it if it is down or drained; exit naming the logs if it never comes.
wait_node_up() {
    local state=""
    for _ in $(seq 1 300); do
        state="$(sinfo -h -N -n "$1" -o '%T' 2>/dev/null | head -n1)"
        case "$state" in
            idle|mixed|allocated|completing) return 0 ;;
            down*|drain*|drained*|fail*)
                scontrol update NodeName="$1" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 0.1
    done
    echo "node $1 is not idle (sinfo says '$state'); see $2/" >&2
    exit 1
}
