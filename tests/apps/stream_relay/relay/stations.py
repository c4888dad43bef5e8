"""Tasks of the relay: stations that load parcels onto a stream, stations that unload them."""

import time

from pycompss.api.parameter import IN, STREAM_IN, STREAM_OUT
from pycompss.api.task import task
from relay.parcels import Parcel

PARCELS_PER_LOAD = 8


@task(belt=STREAM_OUT, pause=IN)
def load(belt, pause, first_weight=1):
    """Publishes PARCELS_PER_LOAD parcels, one every ``pause`` seconds, then closes."""
    for number in range(PARCELS_PER_LOAD):
        belt.publish(Parcel(f"p{number}", first_weight + number))
        time.sleep(pause)
    belt.close()


@task(belt=STREAM_IN, pause=IN, returns=2)
def unload(belt, pause):
    """Drains the stream while its producer runs; returns (count, total weight)."""
    count, weight = 0, 0
    while not belt.is_closed():
        for parcel in belt.poll():
            count += 1
            weight += parcel.weight
        time.sleep(pause)
    for parcel in belt.poll():  # what arrived between the last poll and the close
        count += 1
        weight += parcel.weight
    return count, weight


# ``label`` is declared but weigh() has none: PyCOMPSs accepts such a stale IN.
@task(label=IN, returns=int)
def weigh(parcel):
    return parcel.heavier(0).weight
