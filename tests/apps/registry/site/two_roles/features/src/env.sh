export FEATURES_ENVIRONMENT="from features/src/env.sh"
