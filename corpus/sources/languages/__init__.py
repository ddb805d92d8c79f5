"""Per-language data of the readers, loaded from the YAML files beside this module (the readers never parse YAML):

  wikipedia_names.yaml   file, category and template names, redirect words, disambiguation markers, appendix sections
  book_words.yaml        the words that name a book's front and back matter (contents, annotation, imprint, ...)
  edge_notices.yaml      site-notice phrases trimmed at a web article's ends

Each is `{language: ...}`; every language's data applies to every document, since stage 3 decides a document's
language only after it is read.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

_HERE = Path(__file__).parent


@lru_cache(maxsize=None)
def reader_data(name: str) -> dict[str, Any]:
    """`<name>.yaml` of this folder, by language."""
    return yaml.safe_load((_HERE / f"{name}.yaml").read_text(encoding="utf-8")) or {}
