"""Tests of the HPC task types; their applications are in tests/apps/hpc/."""

from tests.conftest import APPS

HPC_APPS = APPS / "hpc"
