"""Retrieval and answers on the real corpus: a slice of every layout, with look-alike sheets kept in.

The full corpus is `make eval`; here a real 大船渡 workbook is cut down to the rows the dev questions
need plus distractors (same template, similar names), so the test stays fast.
"""

import json
import random
import shutil
from pathlib import Path

import pytest

from assistant.messages import history_from_json
from assistant.scoring import judge
from ingest.labelling import Labeller, Manifest
from tests.conftest import CORPUS, ROOT, SHARED
from tests.helpers import SAMPLE_DIR, ingested

# slow: ingests a slice of the corpus with the real e5 model
pytestmark = [pytest.mark.corpus, pytest.mark.slow]
KEEP = ("不法投棄", "放課後児童", "水産基盤", "エコライフ", "魚市場", "協議会", "環境", "空家", "児童")


def _slice_dashboard(src: Path, dst: Path, ids: set[str]) -> None:
    """The dashboard export of the same rows: every sheet arrives twice, in two formats."""
    data = json.loads(src.read_text(encoding="utf-8"))
    items = data if isinstance(data, list) else data.get("projects", [])
    kept = [p for p in items if str(p.get("id", "")).lstrip("0") in ids]
    dst.write_text(json.dumps(kept if isinstance(data, list) else {**data, "projects": kept}, ensure_ascii=False),
                   encoding="utf-8")


def _slice_workbook(src: Path, dst: Path, n_random: int = 12) -> set[str]:
    from openpyxl import Workbook, load_workbook

    wb = load_workbook(src, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    head, body = rows[:2], [r for r in rows[2:] if r and r[8]]
    keep = [r for r in body if any(k in str(r[8]) for k in KEEP)]
    rest = [r for r in body if r not in keep]
    keep += random.Random(7).sample(rest, n_random)
    out = Workbook()
    ws = out.active
    ws.title = wb.worksheets[0].title
    for r in head + keep:
        ws.append(list(r))
    out.save(dst)
    return {str(r[7]).lstrip("0") for r in keep}


@pytest.fixture(scope="module")
def corpus_env(tmp_path_factory):
    if not (CORPUS / "real").exists():
        pytest.skip(f"{CORPUS / 'real'} is absent: the shared corpus is not beside this checkout")
    root = tmp_path_factory.mktemp("slice")
    real = root / "real"
    (real / "ofunato").mkdir(parents=True)
    ids = _slice_workbook(CORPUS / "real/ofunato/report.xlsx", real / "ofunato/report.xlsx")
    _slice_dashboard(CORPUS / "real/ofunato/projects.json", real / "ofunato/projects.json", ids)
    n = len(ids)
    for rel in ("kobe/kobe-r25-001.pdf", "kobe/kobe-r25-009.pdf", "kobe/kobe-r25-010.pdf", "kobe/policies.kobe.json",
                "ikeda/ikeda-r7-001.pdf", "ikeda/ikeda-r7-031.pdf", "kyoto/kyoto-r6-001.pdf",
                "fukuoka/jimu-jigyo-r6-kouwan.json", "fukuoka/jimu-jigyo-r6-nousui.json"):
        (real / rel).parent.mkdir(exist_ok=True)
        shutil.copy(CORPUS / "real" / rel, real / rel)
    # The files that do not name their city get it from the manifest `make eval` uses, as a user would.
    manifest = Manifest.load(ROOT / "tests/data/shared-corpus-manifest.toml")
    store, assistant = ingested(tmp_path_factory.mktemp("home"), [SAMPLE_DIR, root],
                                labeller=Labeller([SAMPLE_DIR, root], manifest=manifest))
    return store, assistant, n


def test_slice_is_indexed_once_per_sheet(corpus_env):
    store, _, n = corpus_env
    rows = store.catalogue()
    municipalities = {r.municipality for r in rows}
    assert {"大船渡市", "神戸市", "池田市", "京都市", "福岡市"} <= municipalities
    # projects.json repeats the workbook's sheets: none of them is indexed twice.
    assert sum(r.municipality == "大船渡市" for r in rows) == n


def test_dev_questions(corpus_env):
    dev = SHARED / "eval" / "dev.jsonl"
    if not dev.exists():
        pytest.skip(f"{dev} is absent")
    _, assistant, _ = corpus_env
    misses = []
    for line in dev.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        a = assistant.ask(q["question"], history_from_json(q.get("history"))).contract(q["id"])
        why = judge(q, a)
        if why:
            misses.append(f"{q['id']}: {why}: {a['answer'][:120]}")
    assert not misses, "\n".join(misses)


def test_fuzzy_project_names(corpus_env):
    _, assistant, _ = corpus_env
    ans = assistant.ask("ごみの不法な投棄を防ぐ事業の令和5年度のトータルコストは？")
    assert ans.status == "answered" and ans.citations[0].project_name == "不法投棄対策事業"


def test_municipality_filter_narrows_the_search(corpus_env):
    from vectorstore.store import Filters

    store, assistant, _ = corpus_env
    hits = store.search("環境学習推進事業", k=5, filters=Filters(municipality="池田市"))
    assert hits and all(h.sheet.municipality == "池田市" for h in hits)
    ans = assistant.ask("環境学習の事業の目的は？", filters=Filters(municipality="池田市"))
    assert all(c.municipality == "池田市" for c in ans.citations)


def test_kobe_same_name_two_bureaus_are_both_kept(corpus_env):
    store, _, _ = corpus_env
    kobe = [r for r in store.catalogue() if r.municipality == "神戸市"]
    names = [r.project_name for r in kobe]
    assert len(kobe) == 3 and len(set(names)) == 2
