# The CAELESTIS feature extraction's --env_script (our stand-in): what a site's env.sh
# does before the application starts, on the master and on the workers.
export CAELESTIS_CASE="coupon from src/env.sh"
caelestis_src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONPATH="$caelestis_src/lib${PYTHONPATH:+:$PYTHONPATH}"
