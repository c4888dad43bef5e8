#!/usr/bin/env bash
# A module file on the test cluster, for steps' compss_modules (`module load eflows-test`).
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
