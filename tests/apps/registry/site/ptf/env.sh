export PTF_ENVIRONMENT="from env.sh"
