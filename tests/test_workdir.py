"""The work directory: a step is reused only when its done file holds the fingerprint a rerun expects."""

from __future__ import annotations

from pipelines.workdir import fingerprint, step_folder


def test_fingerprint_is_stable_and_changes_with_any_part():
    assert fingerprint("prepare", {"b": 1, "a": [1, 2]}) == fingerprint("prepare", {"a": [1, 2], "b": 1})
    assert fingerprint("prepare", {"a": [1, 2]}) != fingerprint("prepare", {"a": [2, 1]})
    assert fingerprint("prepare", 1) != fingerprint("tokenize", 1)


def test_a_step_is_done_only_with_the_expected_fingerprint(tmp_path):
    folder = step_folder(str(tmp_path), "prepared", "unit1")
    assert folder.done("f1") is None
    folder.finish("f1", {"docs": 3})
    assert folder.done("f1") == {"docs": 3}
    assert folder.done("f2") is None                      # other settings: do the work again
    assert not list(tmp_path.rglob("*.tmp"))              # written under a temporary name, then renamed


def test_a_done_file_cut_short_by_a_crash_means_not_done(tmp_path):
    folder = step_folder(str(tmp_path), "prepared", "unit1")
    folder.finish("f1", {"docs": 3})
    done = tmp_path / "prepared" / "unit1" / "done.json"
    done.write_text(done.read_text()[:10])
    assert folder.done("f1") is None
