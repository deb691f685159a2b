"""Uploads and provenance: stored by content hash, never replacing or deleting a sheet they did not
add, labelled, answered from the official copy, restored by the administrator's re-ingest, and
queued behind a running ingest. Real SQLite and Chroma; a bigram fake for embeddings."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from assistant.core import Assistant
from ingest.errors import StoreBusy
from tests.helpers import SAMPLE_DIR, BigramEmbeddings, make_store
from vectorstore.indexer import Indexer
from vectorstore.provenance import ADMIN, UPLOAD
from vectorstore.uploads import UploadStore, safe_name

SAMPLE = SAMPLE_DIR / "tochigi-joho-kyogikai.txt"
NAME = "栃木県市町村情報化推進協議会参画事業"
COST_Q = f"{NAME}の平成30年度のトータルコストは？"


def forged_text() -> str:
    """The official sheet with トータルコスト 334 -> 999999 and one extra row (so it is the "richer" copy)."""
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    i = next(k for k, line in enumerate(lines) if line.startswith("トータルコスト(A)+(B)"))
    lines[i] = lines[i].replace("\t334\t", "\t999999\t")
    lines.insert(i, "\t\t謝金\t千円\t1\t1\t1\t1\t1")
    return "\n".join(lines)


def other_project(i: int) -> str:
    return SAMPLE.read_text(encoding="utf-8").replace(NAME, f"第{i}地区防災連絡協議会参画事業", 1)


@pytest.fixture
def store(tmp_path: Path):
    return make_store(tmp_path / "home", BigramEmbeddings(), model="bigram-test")


@pytest.fixture
def official(tmp_path: Path, store) -> Path:
    folder = tmp_path / "official"
    folder.mkdir()
    (folder / "sheet.txt").write_bytes(SAMPLE.read_bytes())
    assert Indexer(store).ingest([folder]).added == 1
    return folder


def upload(store, tmp_path: Path, name: str, data: bytes, user: str = ""):
    incoming = tmp_path / "incoming" / f"{time.monotonic_ns()}"
    incoming.mkdir(parents=True)
    (incoming / name).write_bytes(data)
    uploads = UploadStore(store)
    kept = uploads.keep(incoming / name, name, user)
    return kept, uploads.ingest([kept], user, wait=5)


def cost(store) -> str:
    ans = Assistant(store).ask(COST_Q)
    assert ans.status.value == "answered", ans.answer
    return ans.citations[0].value


def test_forged_upload_of_an_official_sheet_leaves_answers_on_the_official_figure(tmp_path, store, official):
    kept, summary = upload(store, tmp_path, "sheet.txt", forged_text().encode(), user="mallory")
    assert cost(store) == "334"
    assert [s for s in summary.files if s[1] == "unofficial"], summary.files
    [(_, line)] = summary.unofficial
    assert NAME in line and "非公式版" in line and "公式版" in line
    [version] = store.db.provenance.unofficial()
    assert version.uploader == "mallory" and version.file_name == "sheet.txt" and "非公式版" in version.label()
    forged = store.db.provenance.unofficial_sheet(version.version_id)
    assert forged is not None and "999999" in {c.value_text for c in forged.cells}
    [row] = store.catalogue()
    prov = store.db.provenance.of([row.sheet_id])[row.sheet_id]
    assert prov.origin == ADMIN and prov.official and "公式" in prov.label()
    assert kept.path.name == f"{kept.sha256}.txt", "stored by content hash"
    assert store.db.provenance.upload_names(kept.sha256)[0][:2] == ("sheet.txt", "mallory")


@pytest.mark.slow
def test_administrators_copy_replaces_an_upload_and_keeps_it_as_unofficial(tmp_path, store):
    upload(store, tmp_path, "先に来た.txt", forged_text().encode(), user="早い人")
    assert cost(store) == "999999"  # nobody else has this sheet yet: the upload is answered, labelled
    [row] = store.catalogue()
    assert store.db.provenance.of([row.sheet_id])[row.sheet_id].origin == UPLOAD
    folder = tmp_path / "official"
    folder.mkdir()
    (folder / "sheet.txt").write_bytes(SAMPLE.read_bytes())
    s = Indexer(store).ingest([folder])
    assert s.updated == 1 and cost(store) == "334"
    [version] = store.db.provenance.unofficial()
    assert version.uploader == "早い人" and version.file_name == "先に来た.txt"
    # the upload's file no longer claims the sheet
    uploads = [f for f in (store.db.file(str(p.resolve())) for p in (store.home / "uploads").iterdir()) if f]
    assert [f.sheet_ids for f in uploads] == [()]


def test_reingest_restores_the_official_sheet_an_old_upload_had_replaced(tmp_path, store, official):
    """Before provenance was kept, a richer uploaded copy won and `hyoka ingest` then said 変更なし."""
    legacy = store.home / "uploads"
    legacy.mkdir(parents=True)
    (legacy / "sheet.txt").write_text(forged_text(), encoding="utf-8")
    Indexer(store).ingest([legacy / "sheet.txt"])   # the old upload path: plain ingest of the file
    [row] = store.catalogue()
    with store.db.transaction() as con:             # the rows the old code left: no provenance, and
        con.execute("DELETE FROM provenance")       # the official file still listing its sheet
        con.execute("DELETE FROM file_produced")
        con.execute("UPDATE files SET status='indexed', message='', sheet_ids=? WHERE path=?",
                    (f'["{row.sheet_id}"]', str((official / "sheet.txt").resolve())))
    assert cost(store) == "999999"
    s = Indexer(store).ingest([official])
    assert s.restored == 1 and cost(store) == "334"
    again = Indexer(store).ingest([official])
    assert (again.restored, again.unchanged) == (0, 1)


@pytest.mark.slow
def test_same_name_upload_leaves_the_other_users_sheet_answerable(tmp_path, store):
    kept_a, s = upload(store, tmp_path, "sheet.txt", other_project(1).encode(), user="a")
    assert s.added == 1
    stored_a = kept_a.path.read_bytes()
    question = "第1地区防災連絡協議会参画事業の平成30年度のトータルコストは？"
    assert Assistant(store).ask(question).citations[0].value == "334"
    # user b: a non-sheet, then a broken file, both named sheet.txt
    _, s1 = upload(store, tmp_path, "sheet.txt", "会議のメモです。\n出席者 12名\n".encode(), user="b")
    _, s2 = upload(store, tmp_path, "sheet.txt", b"\xff\xfe\x00\xd8broken" * 10, user="b")
    assert s1.removed == 0 and s2.removed == 0
    ans = Assistant(store).ask(question)
    assert ans.status.value == "answered" and ans.citations[0].value == "334"
    assert kept_a.path.read_bytes() == stored_a, "the first user's stored file was not overwritten"
    assert len(list((store.home / "uploads").iterdir())) == 3


def test_identical_uploads_and_copies_of_official_files(tmp_path, store, official):
    _, s = upload(store, tmp_path, "コピー.txt", SAMPLE.read_bytes())
    assert s.files[0][1] == "duplicate" and "取り込み済みのファイル" in s.duplicates[0]
    assert str(official) not in s.duplicates[0], "the administrator's paths are not shown to uploaders"
    _, s = upload(store, tmp_path, "b.txt", other_project(2).encode())
    _, again = upload(store, tmp_path, "b2.txt", other_project(2).encode())
    assert s.added == 1 and again.files[0][1] == "unchanged"


@pytest.mark.slow
def test_upload_waits_for_a_running_ingest(tmp_path, store):
    incoming = tmp_path / "in.txt"
    incoming.write_text(other_project(3), encoding="utf-8")
    uploads = UploadStore(store)
    kept = uploads.keep(incoming, "in.txt")
    lock = FileLock(str(store.home / "ingest.lock"))
    lock.acquire()
    waited: list[bool] = []
    out: list = []
    t = threading.Thread(target=lambda: out.append(uploads.ingest([kept], wait=30, on_wait=lambda: waited.append(True))))
    t.start()
    time.sleep(0.6)
    assert t.is_alive() and waited == [True]
    lock.release()
    t.join(timeout=30)
    assert out and out[0].added == 1 and out[0].waited >= 0.5
    lock.acquire()
    try:
        with pytest.raises(StoreBusy) as exc:
            uploads.ingest([kept], wait=0.2)
    finally:
        lock.release()
    assert "取り込めませんでした" in exc.value.message_ja and "lock" not in exc.value.message_ja


def test_upload_names_are_made_safe():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\x\\報告書.xlsx") == "報告書.xlsx"
    assert safe_name("evil\u202etxt.exe\x1b[31m.pdf") == "eviltxt.exe[31m.pdf"
    assert safe_name("") == "upload" and len(safe_name("あ" * 500 + ".xlsx")) <= 120
