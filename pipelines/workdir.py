"""The work directory (`OUT/_work/` unless `output.work_dir` says otherwise): the files each unit of work leaves
behind, and the fingerprints that let a rerun reuse them (issue 13: resume).

A step's outputs are written under temporary names and renamed; its `done.json` is written last and holds the
step's fingerprint (what it read, the settings it used, this package's version) and its small summary. A rerun
whose fingerprint matches reads the summary and skips the work; anything without a matching `done.json` (a crash
in the middle, other settings) is done again from the start, so a resumed run writes the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from apache_beam.io.filesystems import FileSystems

DONE = "done.json"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The package version and a hash of its code and data files: an edited checkout (`pip install -e`) never
    reuses work an older code made."""
    try:
        version = metadata.version("corpus")
    except metadata.PackageNotFoundError:
        version = "unknown"
    h = hashlib.sha256(version.encode())
    root = Path(__file__).resolve().parents[1]
    for path in sorted([*root.glob("corpus/**/*.py"), *root.glob("corpus/**/*.yaml"), *root.glob("pipelines/**/*.py")]):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return f"{version}+{h.hexdigest()[:16]}"


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (sorted keys: dict order never matters) and the code version."""
    text = json.dumps([code_version(), *parts], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def join(*parts: str) -> str:
    return FileSystems.join(*parts)


def read_json(path: str) -> Any | None:
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as f:
        try:
            return json.loads(f.read().decode("utf-8"))
        except ValueError:
            return None    # a done file cut short by a crash: the step is not done


# An object store shows an object only once its upload is complete, and replaces one whole: a write there is already
# all or nothing. A rename there is a copy and a delete (the bytes moved again, and more requests than the write), so
# a file is written in place there and under a temporary name elsewhere.
WHOLE_WRITES = frozenset({"gs", "s3", "azfs"})


def staging_name(path: str) -> str:
    """Where to write `path` so that no reader ever sees half of it; `publish` then puts it in place."""
    return path if FileSystems.get_scheme(path) in WHOLE_WRITES else path + ".tmp"


def write_bytes(path: str, data: bytes) -> None:
    """Write whole or not at all: a reader never sees half a file."""
    tmp = staging_name(path)
    with FileSystems.create(tmp) as f:
        f.write(data)
    publish(tmp, path)


def publish(tmp: str, path: str) -> None:
    if tmp == path:
        return
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


@dataclass(frozen=True)
class StepFolder:
    """One step's folder for one unit: `<work>/<step>/<unit key>/`."""
    path: str

    def file(self, name: str) -> str:
        return join(self.path, name)

    def start(self) -> None:
        """The step is about to (re)write its outputs: whatever done file an earlier run left no longer holds."""
        if FileSystems.exists(self.file(DONE)):
            FileSystems.delete([self.file(DONE)])

    def done(self, expected: str) -> dict[str, Any] | None:
        """The summary a finished step left, if its fingerprint is `expected`; else None (do the work)."""
        record = read_json(self.file(DONE))
        if isinstance(record, dict) and record.get("fingerprint") == expected:
            return record.get("summary")
        return None

    def finish(self, fingerprint_: str, summary: dict[str, Any]) -> None:
        write_bytes(self.file(DONE), json.dumps({"fingerprint": fingerprint_, "summary": summary},
                                                sort_keys=True).encode("utf-8"))


def step_folder(work: str, step: str, key: str) -> StepFolder:
    return StepFolder(join(work, step, key))


def delete_matching(pattern: str) -> None:
    paths = [m.path for r in FileSystems.match([pattern]) for m in r.metadata_list]
    if paths:
        FileSystems.delete(paths)


def delete_tree(path: str) -> None:
    """Delete a directory and everything below it on any filesystem (object stores have no directories: the
    files under the prefix are deleted one by one)."""
    if "://" not in path:
        if FileSystems.exists(path):
            FileSystems.delete([path])
        return
    delete_matching(path.rstrip("/") + "/**")
