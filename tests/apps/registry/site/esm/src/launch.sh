#!/bin/bash
# An ensemble launcher (Pillar_II/esm's launch_fesom2.sh), our stand-in: strict getopt
# over the job's arguments, then enqueue_compss on its .py, as the real one does.
set -o errexit -o pipefail -o nounset
options=$(getopt --name launch --options c: \
    --longoptions hpc:,start_dates:,cores:,cores_per_node: -- "$@")
eval set -- "$options"
HPC="" START_DATES="" CORES=0 CORES_PER_NODE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --hpc) HPC="$2"; shift ;;
        --start_dates) START_DATES="$2"; shift ;;
        -c | --cores) CORES="$2"; shift ;;
        --cores_per_node) CORES_PER_NODE="$2"; shift ;;
        --) shift; break ;;
    esac
    shift
done
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
enqueue_compss --qos=debug --num_nodes=1 --exec_time=10 --keep_workingdir \
    --pythonpath="$SCRIPT_DIR" "$SCRIPT_DIR/esm_simulation.py" \
    --hpc "$HPC" --start_dates "$START_DATES" --processes "$CORES" \
    --processes_per_node "$CORES_PER_NODE" --output "$SCRIPT_DIR/../output"
