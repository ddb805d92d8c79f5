"""Book cleaning fidelity (issue 15 §4: the body only): for every shared book, characters before and after the
reader, what the body cleaning removed (tables of contents, annotations and imprints, illustration markers),
whether the output's first and last 300 characters stand in the source, the output's opening, and seconds per MB.

"In source" folds whitespace on both sides (the reader re-joins hard-wrapped lines). `strict` asks for the 300
characters as one run of the source; `by paragraph` asks it of each of their paragraphs, since a marker or a
contents block cut out between two paragraphs leaves them apart in the source.

Usage: python bench/fidelity_books.py [../shared/data] [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import re
import time
from collections import Counter
from pathlib import Path

from corpus.sources import ReadContext, reader_for
from corpus.sources import books
from corpus.sources.encoding import decode_text_file

# Which figure each cleaning step adds to.
CATEGORY = {"drop_illustration_markers": "illustration", "drop_annotation": "annotation",
            "drop_imprint": "annotation", "drop_front_separators": "annotation",
            "drop_table_of_contents": "contents", "drop_paged_contents": "contents"}


def fold(text: str) -> str:
    return " ".join(text.split())


def source_text(data: bytes) -> str:
    text, _ = decode_text_file(data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def removed_by_step(source: str) -> Counter:
    """Characters each category removed, replaying the reader's steps on the text they see."""
    text, _ = books.strip_gutenberg(source)
    text = books.strip_site_notices(text)
    removed: Counter = Counter()
    for step in books.BOOK_MATTER_STEPS:
        before = len(text)
        text = step(text)
        removed[CATEGORY.get(step.__name__, step.__name__)] += before - len(text)
    return removed


def in_source(piece: str, folded_source: str) -> tuple[bool, bool]:
    """(the piece is one run of the source, each of its paragraphs is); whitespace folded."""
    strict = fold(piece) in folded_source
    paragraphs = [fold(p) for p in re.split(r"\n\s*\n", piece) if p.strip()]
    return strict, all(p in folded_source for p in paragraphs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--repeat", type=int, default=3, help="reads per book; the fastest is reported")
    args = parser.parse_args()
    paths = sorted(Path(args.data, "books").glob("*/*.txt")) + sorted(Path(args.data, "books").glob("*/*.fb2*"))
    if not paths:
        raise SystemExit(f"no books under {args.data}/books")
    for path in paths:
        data = path.read_bytes()
        ctx = ReadContext(source="books", path=str(path), rel=path.name)
        seconds = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            doc = next(iter(reader_for("books")(io.BytesIO(data), ctx)))
            seconds = min(seconds, time.perf_counter() - started)
        source = source_text(data) if ".fb2" not in path.name else doc.text
        folded = fold(source)
        removed = removed_by_step(source) if ".fb2" not in path.name else Counter()
        first = in_source(doc.text[:300], folded)
        last = in_source(doc.text[-300:], folded)
        print(f"{path.parent.name}/{path.name}")
        print(f"  chars: source {len(source):,} -> output {len(doc.text):,}; removed: contents "
              f"{removed['contents']:,}, annotation/imprint {removed['annotation']:,}, illustration markers "
              f"{removed['illustration']:,}")
        print(f"  first 300 in source: strict {first[0]}, by paragraph {first[1]}; last 300: strict {last[0]}, "
              f"by paragraph {last[1]}")
        print(f"  {seconds / (len(data) / 1e6):.3f} s/MB (read, whole reader, fastest of {args.repeat})")
        print(f"  opens: {doc.text[:200]!r}")


if __name__ == "__main__":
    main()
