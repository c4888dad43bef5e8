#!/usr/bin/env bash
# Module files on the test cluster, for steps' compss_modules (`module load eflows-test`),
# and stand-ins of the modules the registry workflows load (`compss/3.0`, `singularity`).
# Idempotent; needs Environment Modules (scripts/system-packages.txt); changes no daemon.
set -euo pipefail
init=/usr/share/modules/init/bash
if [ ! -f "$init" ]; then
    echo "Environment Modules is not installed (scripts/install-system-packages.sh)" >&2
    exit 1
fi
dir=/usr/share/modules/modulefiles/eflows-test
mkdir -p "$dir"
cat > "$dir/1.0.part" <<'MODULE'
#%Module1.0
## eflows-test: what a step's compss_modules load on the test cluster
setenv EFLOWS_TEST_MODULE loaded-1.0
prepend-path PATH /opt/eflows-test-module/bin
MODULE
mv "$dir/1.0.part" "$dir/1.0"
chmod 644 "$dir/1.0"
echo "module eflows-test/1.0 in $dir"

# Stand-ins: the registry's minimal_workflow loads compss/3.0 and singularity on its site,
# Pillar_II/esm (older PyCOMPSs plugin, compss_module_version: eflows4hpc) COMPSs/eflows4hpc.
for module in compss/3.0 singularity/stand-in COMPSs/eflows4hpc; do
    name=${module%%/*}
    mkdir -p "/usr/share/modules/modulefiles/$name"
    cat > "/usr/share/modules/modulefiles/$module.part" <<MODULE
#%Module1.0
## $module: a stand-in on the test cluster (the registry workflows load it)
setenv EFLOWS_STAND_IN_${name^^} loaded
MODULE
    mv "/usr/share/modules/modulefiles/$module.part" "/usr/share/modules/modulefiles/$module"
    chmod 644 "/usr/share/modules/modulefiles/$module"
done
echo "stand-in modules compss/3.0, singularity and COMPSs/eflows4hpc in /usr/share/modules/modulefiles"
