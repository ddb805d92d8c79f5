"""Gopher quality + repetition rules: ours vs datatrove's GopherQualityFilter + GopherRepetitionFilter, on the same
documents, side by side in one run: documents/s per core and the agreement of keep/drop decisions.

Usage: python bench/rules_vs_datatrove.py --datatrove-python /path/to/venv/bin/python [../shared/data]

datatrove lives in its own environment (it pins other versions of shared packages):
    python -m venv dtvenv && dtvenv/bin/pip install datatrove regex nltk spacy
This script writes the documents to a temp JSONL, runs datatrove's filters there in a subprocess (timed inside it,
one core), runs ours here, and compares. Input: the shared C4/cc_net/RedPajama text, web-ru pages, books in
2,000-word passages and Wikipedia articles (en and ru), each with its known language.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from corpus.config import config_from_dict
from corpus.document import Document, Rejection
from corpus.sources import ReadContext, reader_for
from corpus.stages import DocumentRules

DATATROVE_SIDE = r"""
import json, sys, time
from datatrove.data import Document
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
filters = {lang: (GopherQualityFilter(language=lang), GopherRepetitionFilter(language=lang)) for lang in ("en", "ru")}
for quality, repetition in filters.values():   # warm up tokenizers outside the timing
    quality.filter(Document(text="warm up text " * 20, id="w")); repetition.filter(Document(text="warm up", id="w"))
out = []
started = time.perf_counter()
for d in docs:
    quality, repetition = filters[d["lang"]]
    doc = Document(text=d["text"], id=d["id"])
    verdict = repetition.filter(doc)   # datatrove's own order in its Gopher examples: repetition, then quality
    if verdict is True:
        verdict = quality.filter(doc)
    out.append(None if verdict is True else (verdict[1] if isinstance(verdict, tuple) else "dropped"))
seconds = time.perf_counter() - started
json.dump({"seconds": seconds, "reasons": out}, open(sys.argv[2], "w"))
"""


def load(data: Path) -> list[Document]:
    docs: list[Document] = []

    def add(kind: str, path: Path, lang: str, split: int | None = None):
        with path.open("rb") as f:
            for d in reader_for(kind)(f, ReadContext(source="bench", path=str(path), rel=path.name)):
                if isinstance(d, Document):
                    words = d.text.split(" ")
                    step = split or len(words) or 1
                    for i in range(0, len(words), step):
                        docs.append(Document(id=f"{d.id}:{i}", source="bench", text=" ".join(words[i:i + step]),
                                             lang=lang))

    for path in sorted((data / "cc/text").glob("*.jsonl*")):
        add("jsonl", path, "en")
    for path in sorted((data / "web-ru").glob("*.txt")):
        add("text", path, "ru")
    for lang in ("en", "ru"):
        for path in sorted((data / "books" / lang).glob("*.txt")):
            add("books", path, lang, split=2000)
    wiki = json.loads((data / "wikipedia/text/cyrillic-wiki-plaintext-10langs.json").read_text(encoding="utf-8"))
    docs += [Document(id=f"wiki-{lang}-{i}", source="bench", text=t, lang=lang)
             for lang in ("en", "ru") for i, t in enumerate(wiki[lang])]
    return docs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--datatrove-python", required=True, help="python of an environment with datatrove")
    args = parser.parse_args()
    docs = load(Path(args.data))
    mb = sum(d.n_bytes for d in docs) / 1e6
    tmp = Path(tempfile.mkdtemp(prefix="dt-bench-"))
    with (tmp / "docs.jsonl").open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"id": d.id, "text": d.text, "lang": d.lang}, ensure_ascii=False) + "\n")
    (tmp / "side.py").write_text(DATATROVE_SIDE)
    subprocess.run([args.datatrove_python, str(tmp / "side.py"), str(tmp / "docs.jsonl"), str(tmp / "out.json")],
                   check=True)
    theirs = json.loads((tmp / "out.json").read_text())

    config = config_from_dict({"sources": [{"name": "bench", "kind": "text", "paths": ["-"], "languages": None,
                                            "quality_filter": True, "repetition_filter": True}]},
                              check_paths=False)
    rules = DocumentRules(config)
    ours: list[str | None] = []
    started = time.perf_counter()
    for d in docs:
        result = rules.quality(d)
        if not isinstance(result, Rejection):
            result = rules.repetition(result)
        ours.append(result.reason if isinstance(result, Rejection) else None)
    our_seconds = time.perf_counter() - started

    n = len(docs)
    agree = sum((a is None) == (b is None) for a, b in zip(ours, theirs["reasons"]))
    print(f"{n} documents, {mb:.1f} MB (en and ru; web rules on for all)")
    print(f"ours:      {n / our_seconds:8.1f} docs/s  {mb / our_seconds:6.2f} MB/s per core; kept "
          f"{sum(r is None for r in ours)}")
    print(f"datatrove: {n / theirs['seconds']:8.1f} docs/s  {mb / theirs['seconds']:6.2f} MB/s per core; kept "
          f"{sum(r is None for r in theirs['reasons'])}")
    print(f"speed ratio ours/datatrove: {theirs['seconds'] / our_seconds:.2f}x; keep/drop agreement "
          f"{agree / n:.3f} ({agree}/{n})")
    disagreements = Counter((a or "keep", b or "keep") for a, b in zip(ours, theirs["reasons"])
                            if (a is None) != (b is None))
    for (a, b), count in disagreements.most_common(10):
        print(f"  ours {a:40s} datatrove {b:30s} {count}")


if __name__ == "__main__":
    main()
