"""pycompss.api.parameter on eflows_kernel: every direction, type and dictionary key."""
from eflows_kernel.model.parameter import *
from eflows_kernel.model.parameter import DIRECTION_KEY as Direction
