import json
import os

import pytest

from worker import store as store_mod
from worker.store import Store, atomic_write, safe_name


def test_same_bytes_are_stored_once(tmp_path):
    store = Store(tmp_path)
    a = store.put_upload(b"%PDF-1.7 same bytes", "a.pdf")
    b = store.put_upload(b"%PDF-1.7 same bytes", "renamed.pdf")
    assert a.sha256 == b.sha256
    contents = list((tmp_path / "uploads").rglob("content"))
    assert len(contents) == 1
    assert store.read_upload(a.sha256) == b"%PDF-1.7 same bytes"
    meta = store.upload_meta(a.sha256)
    assert meta["name"] == "a.pdf" and meta["size"] == 19 and meta["type"] == "pdf"
    # the job reference carries the name used for that submission, never the bytes
    assert b.ref() == {"sha256": a.sha256, "name": "renamed.pdf"}


def test_result_round_trip_and_listing(tmp_path):
    store = Store(tmp_path)
    store.put_result("job1", {"schema": "docverify.result/1", "x": "中文"})
    assert store.get_result("job1")["x"] == "中文"
    assert store.get_result("missing") is None
    assert store.has_result("job1") and not store.has_result("missing")
    assert store.result_ids() == ["job1"]


def test_a_submission_with_a_result_is_no_longer_pending(tmp_path):
    store = Store(tmp_path)
    store.put_pending("job1", {"kwargs": {}})
    store.put_pending("job2", {"kwargs": {}})
    store.put_result("job1", {"v": 1})
    assert [job_id for job_id, _ in store.pending()] == ["job2"]
    # A horse killed between storing the result and striking the pending record leaves both.
    store.put_result("job2", {"v": 2})
    (tmp_path / "pending" / "job2.json").write_text("{}")
    assert list(store.pending()) == []


def test_crash_during_write_leaves_old_result_and_no_temp_file(tmp_path, monkeypatch):
    store = Store(tmp_path)
    store.put_result("job1", {"v": 1})

    def crash(src, dst):
        raise OSError("disk gone")  # the rename is the commit point: fail right there

    monkeypatch.setattr(store_mod.os, "replace", crash)
    with pytest.raises(OSError):
        store.put_result("job1", {"v": 2})
    monkeypatch.undo()
    assert store.get_result("job1") == {"v": 1}
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["job1.json"]


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "f.json"
    atomic_write(path, b"x" * 10_000)
    atomic_write(path, json.dumps({"a": 1}).encode())
    assert json.loads(path.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["f.json"]


@pytest.mark.parametrize("raw, expected", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\流水.pdf", "流水.pdf"),
    ("a\x00b\n.pdf", "ab.pdf"),
    ("/", "upload"),
])
def test_names_are_labels_not_paths(raw, expected):
    assert safe_name(raw) == expected


@pytest.mark.parametrize("bad", ["../x", "a/b", "", "x" * 200])
def test_job_ids_cannot_escape_the_store(tmp_path, bad):
    with pytest.raises(ValueError):
        Store(tmp_path).get_result(bad)


def test_upload_lookup_rejects_non_hash(tmp_path):
    with pytest.raises(ValueError):
        Store(tmp_path).read_upload("../../etc/passwd")
