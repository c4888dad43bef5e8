"""Tasks of the tally application (see ../tally_app.py), with PyCOMPSs' older
``pycompss.api.reduce`` decorator."""

from pycompss.api.parameter import COLLECTION_IN
from pycompss.api.reduce import reduce
from pycompss.api.task import task


@reduce(chunk_size="2")
@task(returns=1, votes=COLLECTION_IN)
def total(votes):
    return sum(votes)


@reduce(chunk_size="${TALLY_CHUNK}")
@task(returns=1, words=COLLECTION_IN)
def joined(words):
    return "".join(words)


@task(returns=1)
def recount(votes):
    return votes + 1
