"""PyCOMPSs Word Count.

Counts the words of every file found in an input directory. One task per
file reads it (FILE_IN) and builds a partial dictionary, the partial
dictionaries are merged two by two in a reduction tree, a last task writes
the final counts as JSON to an output file (FILE_OUT) and the main program
reads that file back with compss_open.

Words are lower-cased and stripped of surrounding punctuation.

Usage:
    eflows-run --workers 2 tests/apps/wordcount.py <input_dir> <output_file>

Prints a final line: RESULT {"counts": {...}, "files": N, "same": true}
"""

import json
import os
import sys

from pycompss.api.api import compss_open, compss_wait_on
from pycompss.api.parameter import FILE_IN, FILE_OUT
from pycompss.api.task import task

PUNCTUATION = ".,;:!?\"'()[]{}"


@task(file_path=FILE_IN, returns=dict)
def count_words(file_path):
    counts = {}
    with open(file_path) as f:
        for line in f:
            for word in line.split():
                word = word.strip(PUNCTUATION).lower()
                if word:
                    counts[word] = counts.get(word, 0) + 1
    return counts


@task(returns=dict)
def merge(a, b):
    result = dict(a)
    for word, count in b.items():
        result[word] = result.get(word, 0) + count
    return result


@task(result_path=FILE_OUT)
def write_result(counts, result_path):
    with open(result_path, "w") as f:
        json.dump(counts, f, sort_keys=True)


def reduce_tree(partials):
    # Merge the partial results two by two until only one is left.
    while len(partials) > 1:
        merged = []
        for i in range(0, len(partials) - 1, 2):
            merged.append(merge(partials[i], partials[i + 1]))
        if len(partials) % 2 == 1:
            merged.append(partials[-1])
        partials = merged
    return partials[0]


def main():
    if len(sys.argv) != 3:
        print("Usage: wordcount.py <input_dir> <output_file>")
        sys.exit(1)
    input_dir = sys.argv[1]
    output_file = sys.argv[2]

    files = sorted(
        os.path.join(input_dir, name)
        for name in os.listdir(input_dir)
        if os.path.isfile(os.path.join(input_dir, name))
    )
    if not files:
        print("No input files found in " + input_dir)
        sys.exit(1)

    partials = [count_words(path) for path in files]
    total = reduce_tree(partials)

    # The writer receives the (still running) reduction result.
    write_result(total, output_file)

    total = compss_wait_on(total)

    with compss_open(output_file, "r") as f:
        from_file = json.load(f)

    print(f"Words: {len(total)} distinct, {sum(total.values())} in total")
    result = {"counts": from_file, "files": len(files), "same": from_file == total}
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
