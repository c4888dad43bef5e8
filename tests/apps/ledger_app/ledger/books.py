"""Tasks of the ledger application (see ../ledger_app.py): each book is a file."""

import time

from pycompss.api.parameter import COLLECTION_FILE_IN, COLLECTION_FILE_INOUT, COLLECTION_FILE_OUT
from pycompss.api.task import task


@task(books=COLLECTION_FILE_OUT)
def open_books(books, opening):
    for book in books:
        with open(book, "w") as handle:
            handle.write(opening + "\n")


@task(books=COLLECTION_FILE_INOUT)
def post(books, entry):
    time.sleep(0.5)  # a reader that does not wait for this entry sees the book without it
    for book in books:
        with open(book, "a") as handle:
            handle.write(entry + "\n")


@task(books=COLLECTION_FILE_IN, returns=list)
def audit(books):
    lines = []
    for book in books:
        with open(book) as handle:
            lines.append(handle.read().split())
    return lines
