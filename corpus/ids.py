"""The ids every row carries, and the positions hashed from them: the one copy of the id grammar.

    document   SOURCE/REL            a whole file (a book)
               SOURCE/REL#KEY        a record of a file: its WARC-Record-ID, JSONL id or byte offset, page id
    part       DOC#K                 stage 10: part K (from 0) of a document split at paragraphs (SPEC `ID#k`)
    repeat     UNIT@K                stage 10: copy K (from 2) of a document or part repeated (SPEC `ID@2`)
    read error SOURCE/REL@OFFSET     a reject of stage 1: a record that never became a document

A part and a repeat only ever append to a document's id (`DOC#K@2`), so the id a row was made from is its prefix.
`#` and `@` each appear in two roles (a record key and a part; a byte offset and a repeat) but never ambiguously:
a read error is never split or repeated, and a part suffix is always the last `#` of a shard row's id before any
`@`. Ids are built here from their parts, and read back here only to tell a shard row that is a repeat.

Every order the pipeline needs from an id (the mix, the global shuffle, the tokenizer sample) is `position(id,
seed, purpose)`: 64 bits of BLAKE2b over the purpose, the seed and the id. Never Python's `hash`, which differs
between processes.
"""

from __future__ import annotations

import hashlib
import re

MIX = "mix"                            # stage 10: which units a partial epoch takes
SHUFFLE = "shuffle"                    # stage 12: the global order of the shards' rows
TOKENIZER_SAMPLE = "tokenizer-sample"  # stage 11: which documents the tokenizer trains on


def document_id(source: str, rel: str, key: str | int | None = None) -> str:
    return f"{source}/{rel}" + ("" if key is None else f"#{key}")


def read_error_id(source: str, rel: str, offset: int | str) -> str:
    return f"{source}/{rel}@{offset}"


def part_id(doc_id: str, part: int, parts: int) -> str:
    """SPEC stage 10: parts of a split document are `ID#k` (k from 0); an unsplit document keeps its id."""
    return doc_id if parts == 1 else f"{doc_id}#{part}"


def copy_id(unit_id: str, copy: int) -> str:
    """The first copy keeps the id; repeats (epochs beyond the first) get `@2`, `@3`, ... so ids stay unique."""
    return unit_id if copy == 0 else f"{unit_id}@{copy + 1}"


_REPEAT = re.compile(r"@\d+$")


def is_repeat(row_id: str) -> bool:
    """Whether a shard row is a copy the mix wrote for a second or later epoch (`ID@2`, `ID@3`, ...). Shard rows
    only: a read error's id ends in `@OFFSET` too, but read errors are never in shards."""
    return bool(_REPEAT.search(row_id))


def position(unit_id: str, seed: int, purpose: str) -> int:
    digest = hashlib.blake2b(f"{purpose}\x00{seed}\x00{unit_id}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")
