"""Row ids in the store: the one place that writes and reads them.

A passage is `{source}@{version}#p{i}`, a sentence `{source}@{version}#s{j}`: the id names its
source, the text version it was cut from and its position, so a retry after a kill upserts the
same rows, and a sentence hit is placed in its passage without fetching its metadata.
"""

from __future__ import annotations

from typing import NamedTuple


class RowId(NamedTuple):
    source: str
    version: str
    kind: str  # "p" (passage) or "s" (sentence)
    n: int


def passage_id(source: str, version: str, i: int) -> str:
    return f"{source}@{version}#p{i}"


def sentence_id(source: str, version: str, j: int) -> str:
    return f"{source}@{version}#s{j}"


def parse(row_id: str) -> RowId:
    """The parts of a row id. Source ids hold no '@' or '#' (sources.check_id).

    >>> parse("002_9ece5d155ad6878c@0f3a#s12")
    RowId(source='002_9ece5d155ad6878c', version='0f3a', kind='s', n=12)
    """
    head, _, position = row_id.rpartition("#")
    source, _, version = head.rpartition("@")
    return RowId(source, version, position[:1], int(position[1:]))
