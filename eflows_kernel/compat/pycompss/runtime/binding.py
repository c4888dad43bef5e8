"""``pycompss.runtime.binding``: older PyCOMPSs applications import ``Future`` from here."""

from eflows_kernel.compat.pycompss.runtime.management.classes import EmptyReturn, Future
from eflows_kernel.model.api import compss_wait_on as wait_on
