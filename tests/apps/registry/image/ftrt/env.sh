# What the FTRT image's --env_script sets for the run (our stand-in).
export FTRT_ENVIRONMENT="from /ftrt/env.sh"
