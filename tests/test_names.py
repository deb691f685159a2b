"""How much of a project's name a question holds (the store's name index, vectorstore/store.py)."""

from vectorstore.records import SheetRow
from vectorstore.store import Filters, _NameIndex


def _index(*names: str) -> _NameIndex:
    rows = [SheetRow(sheet_id=f"s{i}", content_hash="", source_file="f", project_name=n, municipality="市",
                     department="", fiscal_year=None, fiscal_year_label="", locator="", n_narratives=0, n_cells=0)
            for i, n in enumerate(names)]
    return _NameIndex.of(1, rows)


def _score(idx: _NameIndex, question: str) -> dict[str, float]:
    return {idx.by_id[sid].project_name: score for sid, score in idx.scores(question, Filters(), 10)}


def test_a_name_whose_kana_are_words_is_not_matched_by_its_kanji_tail_alone():
    idx = _index("さくらまつり運営事業", "北分署管理事業／北分署運営事業")
    scores = _score(idx, "北分署の管理・運営事業、今後の方針は？")
    assert scores["さくらまつり運営事業"] == 40.0       # holds 運営事業: 4 of its 10 characters, not all of it
    assert scores["北分署管理事業／北分署運営事業"] > scores["さくらまつり運営事業"]
    assert _score(idx, "さくらまつりの来場者数は？")["さくらまつり運営事業"] >= 60


def test_okurigana_left_out_still_spell_the_name():
    idx = _index("空き家対策事業")
    assert _score(idx, "空家対策事業の相談件数は？")["空き家対策事業"] == 100.0


def test_a_longer_name_holding_the_one_spelled_is_not_spelled_whole():
    idx = _index("ふるさと情報化推進事業", "広域ふるさと情報化推進事業")
    scores = _score(idx, "ふるさと情報化推進事業の平成30年度のトータルコストは？")
    assert scores["ふるさと情報化推進事業"] == 100.0
    assert scores["広域ふるさと情報化推進事業"] < 100.0
