from eflows_kernel.model.parameter import *
from eflows_kernel.model.parameter import DIRECTION_KEY as Direction
