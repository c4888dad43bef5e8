# The feature extraction's --env_script (our stand-in).
export FEATURES_ENVIRONMENT="from src/env.sh"
