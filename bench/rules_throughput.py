"""Throughput of stages 2-6 (normalize, language ID, Gopher quality + repetition) per core, no Beam.

Usage: python bench/rules_throughput.py [../shared/data]
Prints docs/s and MB/s for the shared books + web-ru input (web rules on for every document).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from corpus.config import config_from_dict
from corpus.document import Document
from corpus.rules.langid import LanguageIdentifier, resolve_model_path
from corpus.sources import ReadContext, reader_for
from corpus.stages import DocumentRules


def load_docs(data: Path) -> list[Document]:
    docs = []
    for kind, pattern in (("books", "books/**/*.txt"), ("text", "web-ru/*.txt")):
        for path in sorted(data.glob(pattern)):
            ctx = ReadContext(source="bench", path=str(path), rel=path.name)
            with path.open("rb") as f:
                docs += [d for d in reader_for(kind)(f, ctx) if isinstance(d, Document)]
    return docs


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
    docs = load_docs(data)
    # Split books into ~2,000-word passages so the input looks like web documents, not 5 giant ones.
    passages = []
    for d in docs:
        words = d.text.split(" ")
        for i in range(0, len(words), 2000):
            passages.append(Document(id=f"{d.id}:{i}", source="bench", text=" ".join(words[i:i + 2000])))
    config = config_from_dict({"sources": [{"name": "bench", "kind": "text", "paths": ["-"], "languages": None,
                                            "quality_filter": True, "repetition_filter": True}]},
                              check_paths=False)
    rules = DocumentRules(config, LanguageIdentifier(resolve_model_path(None)))
    total_bytes = sum(p.n_bytes for p in passages)
    timings = {}
    kept = 0
    for name, fn in (("normalize", rules.normalize), ("langid", rules.identify_language),
                     ("quality", rules.quality), ("repetition", rules.repetition)):
        start = time.perf_counter()
        out = []
        for p in passages:
            r = fn(p)
            out.append(r if isinstance(r, Document) else p)
        timings[name] = time.perf_counter() - start
        passages = out
    kept = len(passages)
    total = sum(timings.values())
    print(f"documents: {kept}  bytes: {total_bytes / 1e6:.2f} MB")
    for name, secs in timings.items():
        print(f"  {name:<11} {secs:7.2f} s  {kept / secs:9.0f} docs/s  {total_bytes / 1e6 / secs:7.2f} MB/s")
    print(f"  {'all stages':<11} {total:7.2f} s  {kept / total:9.0f} docs/s  {total_bytes / 1e6 / total:7.2f} MB/s "
          "(one core)")


if __name__ == "__main__":
    main()
