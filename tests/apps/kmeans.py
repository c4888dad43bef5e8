"""PyCOMPSs K-means.

Generates a set of 2-D points in fragments (one task per fragment) and runs
a fixed number of K-means iterations. In every iteration each fragment
computes its partial sums per cluster in a task, the partial results are
merged in a reduction tree, and the main program synchronizes the merged
result and computes the new centres.

The function reference() runs the same algorithm sequentially, without
tasks, on the same points, and returns the same structure as the app.

Usage:
    eflows-run --workers 2 tests/apps/kmeans.py \
        <n_points> <n_clusters> <n_fragments> <iterations> <seed>
    e.g. eflows-run --workers 2 tests/apps/kmeans.py 400 3 4 3 7

Prints a final line: RESULT {"centres": [[x, y], ...]}
"""

import json
import random
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task

DIM = 2
BLOBS = [[1.0, 1.0], [8.0, 2.0], [4.0, 9.0], [9.0, 9.0]]


# Plain helpers, shared by the tasks and by the sequential reference.


def make_points(n, dim, seed):
    rng = random.Random(seed)
    points = []
    for _ in range(n):
        blob = BLOBS[rng.randrange(len(BLOBS))]
        points.append([blob[d % 2] + rng.gauss(0.0, 1.0) for d in range(dim)])
    return points


def closest(point, centres):
    distances = [
        sum((p - c) ** 2 for p, c in zip(point, centre, strict=True)) for centre in centres
    ]
    return distances.index(min(distances))


def sums_of(fragment, centres):
    partial = {}  # cluster -> [coordinate sums, number of points]
    for point in fragment:
        acc = partial.setdefault(closest(point, centres), [[0.0] * len(point), 0])
        acc[0] = [s + p for s, p in zip(acc[0], point, strict=True)]
        acc[1] += 1
    return partial


def merge_sums(a, b):
    result = {k: [list(sums), count] for k, (sums, count) in a.items()}
    for k, (sums, count) in b.items():
        acc = result.setdefault(k, [[0.0] * len(sums), 0])
        result[k] = [[x + y for x, y in zip(acc[0], sums, strict=True)], acc[1] + count]
    return result


def fragment_sizes(n_points, n_fragments):
    base, extra = divmod(n_points, n_fragments)
    return [base + (1 if i < extra else 0) for i in range(n_fragments)]


def initial_centres(n_clusters, dim, seed):
    rng = random.Random(seed)
    return [[rng.uniform(0.0, 10.0) for _ in range(dim)] for _ in range(n_clusters)]


def new_centres(merged, centres):
    # A cluster that got no points keeps its previous centre.
    return [
        [s / merged[k][1] for s in merged[k][0]] if k in merged else list(old)
        for k, old in enumerate(centres)
    ]


def tree(partials, merge_function):
    while len(partials) > 1:
        merged = [
            merge_function(partials[i], partials[i + 1]) for i in range(0, len(partials) - 1, 2)
        ]
        if len(partials) % 2 == 1:
            merged.append(partials[-1])
        partials = merged
    return partials[0]


def rounded(centres):
    return {"centres": [[round(x, 6) for x in c] for c in centres]}


# Tasks


@task(returns=1)
def generate_fragment(n, dim, seed):
    return make_points(n, dim, seed)


@task(returns=dict)
def partial_sum(fragment, centres):
    return sums_of(fragment, centres)


@task(returns=dict)
def merge(a, b):
    return merge_sums(a, b)


def kmeans(n_points, n_clusters, n_fragments, iterations, seed):
    fragments = [
        generate_fragment(size, DIM, seed + i)
        for i, size in enumerate(fragment_sizes(n_points, n_fragments))
    ]
    centres = initial_centres(n_clusters, DIM, seed)
    for it in range(iterations):
        partials = [partial_sum(fragment, centres) for fragment in fragments]
        merged = compss_wait_on(tree(partials, merge))
        centres = new_centres(merged, centres)
        print(f"Iteration {it}: {centres}")
    return rounded(centres)


def reference(n_points, n_clusters, n_fragments, iterations, seed):
    fragments = [
        make_points(size, DIM, seed + i)
        for i, size in enumerate(fragment_sizes(n_points, n_fragments))
    ]
    centres = initial_centres(n_clusters, DIM, seed)
    for _ in range(iterations):
        partials = [sums_of(fragment, centres) for fragment in fragments]
        centres = new_centres(tree(partials, merge_sums), centres)
    return rounded(centres)


def main():
    if len(sys.argv) != 6:
        print("Usage: kmeans.py <n_points> <n_clusters> <n_fragments> <iterations> <seed>")
        sys.exit(1)
    n_points, n_clusters, n_fragments, iterations, seed = [int(a) for a in sys.argv[1:6]]
    result = kmeans(n_points, n_clusters, n_fragments, iterations, seed)
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
