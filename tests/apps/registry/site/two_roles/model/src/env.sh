export MODEL_ENVIRONMENT="from model/src/env.sh"
