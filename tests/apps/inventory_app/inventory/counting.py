"""Tasks of inventory_app: counts per warehouse, merged into one count in place."""

from pycompss.api.parameter import COLLECTION_IN, INOUT
from pycompss.api.task import task


@task(returns=dict)
def count_items(items):
    counts = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


@task(total=INOUT, others=COLLECTION_IN)
def merge_into(total, others):
    for counts in others:
        for item, number in counts.items():
            total[item] = total.get(item, 0) + number


@task(total=INOUT)
def restock(total, item, number):
    total[item] = total.get(item, 0) + number


@task(returns=int)
def units(total):
    return sum(total.values())


@task(returns=1)
def double(number):
    return 2 * number
