#!/usr/bin/env bash
# Gives the test sshd a new host key and restarts it (the "host key changed" case).
exec "$(dirname "$0")/setup_sshd.sh" rotate-host-key
