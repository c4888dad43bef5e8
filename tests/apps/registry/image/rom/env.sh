# What the ROM image's --env_script sets for the run (our stand-in).
export ROM_ENVIRONMENT="from /rom/env.sh"
