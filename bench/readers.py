"""Reader throughput (stage 1 alone, one core): WARC (with HTML extraction) and Wikipedia XML (with wikitext to
text), in documents/s and input MB/s (uncompressed bytes of the records or wikitext the reader consumed).

Usage: python bench/readers.py [../shared/data] [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from corpus.document import Document
from corpus.sources import ReadContext, Skipped, reader_for


def measure(kind: str, paths: list[Path], repeat: int) -> None:
    blobs = [(p, p.read_bytes()) for p in paths]
    docs = skipped = errors = 0
    text_bytes = 0
    started = time.perf_counter()
    for _ in range(repeat):
        for path, blob in blobs:
            ctx = ReadContext(source="bench", path=str(path), rel=path.name)
            for item in reader_for(kind)(io.BytesIO(blob), ctx):
                if isinstance(item, Document):
                    docs += 1
                    text_bytes += item.n_bytes
                elif isinstance(item, Skipped):
                    skipped += 1
                else:
                    errors += 1
    seconds = time.perf_counter() - started
    compressed = sum(len(b) for _, b in blobs) * repeat / 1e6
    print(f"{kind:10s} {len(paths)} files x{repeat}: {docs} documents ({skipped} records skipped, {errors} errors) "
          f"in {seconds:.1f} s = {docs / seconds:.1f} docs/s, {compressed / seconds:.2f} MB/s compressed input, "
          f"{text_bytes / 1e6 / seconds:.2f} MB/s of text out (one core)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = Path(args.data)
    measure("warc", sorted((data / "cc/warc").glob("*.warc.gz")), args.repeat)
    measure("wikipedia", sorted((data / "wikipedia/xml").glob("*.xml.bz2")), args.repeat)


if __name__ == "__main__":
    main()
