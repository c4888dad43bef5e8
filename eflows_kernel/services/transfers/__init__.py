"""Data logistics above the transfer layer: where data is, with which login, moved when.

``locations.py`` resolves a movement's location and login (vault), ``movements.py``
moves data between a data service, a site and this machine, ``schedules.py`` keeps
periodic transfers in the state database and ``service.py`` checks and fires them.
"""

from eflows_kernel.services.transfers.locations import (
    DATA_KINDS,
    MLFLOW_KINDS,
    Location,
    check_location,
    open_location,
    resolve,
)
from eflows_kernel.services.transfers.logistics import DataLogistics
from eflows_kernel.services.transfers.movements import End, end, move
from eflows_kernel.services.transfers.schedules import (
    Schedule,
    ScheduleSpec,
    ScheduleStore,
    parse_period,
)
from eflows_kernel.services.transfers.service import TransferScheduler, TransfersService

__all__ = ["DATA_KINDS", "MLFLOW_KINDS", "DataLogistics", "End", "Location", "Schedule",
           "ScheduleSpec", "ScheduleStore", "TransferScheduler", "TransfersService",
           "check_location", "end", "move", "open_location", "parse_period", "resolve"]
