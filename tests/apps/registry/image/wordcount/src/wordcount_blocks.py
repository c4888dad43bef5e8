"""Word count of one file, block by block (the minimal_workflow's step, our version).

Usage: wordcount_blocks.py DATA_FILE RESULT_FILE BLOCK_SIZE
Each block of BLOCK_SIZE bytes (cut at a space) is counted by a task, the counts are
merged by tasks, and RESULT_FILE gets the total as JSON.
"""

import json
import os
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


def blocks(text, size):
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        while end < len(text) and not text[end].isspace():
            end += 1
        yield text[start:end]
        start = end


@task(returns=1)
def count(block):
    counts = {}
    for word in block.split():
        counts[word] = counts.get(word, 0) + 1
    return counts


@task(returns=1)
def merge(first, second):
    total = dict(first)
    for word, n in second.items():
        total[word] = total.get(word, 0) + n
    return total


def main(data_file, result_file, size):
    with open(data_file) as handle:
        partial = [count(b) for b in blocks(handle.read(), size)]
    while len(partial) > 1:
        partial = [merge(partial[i], partial[i + 1]) if i + 1 < len(partial) else partial[i]
                   for i in range(0, len(partial), 2)]
    total = compss_wait_on(partial[0]) if partial else {}
    os.makedirs(os.path.dirname(os.path.abspath(result_file)), exist_ok=True)
    with open(result_file, "w") as handle:
        json.dump(total, handle, sort_keys=True)
    print(f"counted {sum(total.values())} words into {result_file}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
