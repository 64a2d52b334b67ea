from pathlib import Path

from assistant import Settings
from assistant.chunking import Span, count_tokens, make_passages, split_sentences
from assistant.ingest import prepare

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


def test_every_passage_and_sentence_is_an_exact_span_of_its_source() -> None:
    settings = Settings.resolve(env={})
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        prep = prepare(text, settings)
        assert prep.passages
        for span in [*prep.sentences, *prep.passages]:
            assert text[span.start : span.end] == span.text
        for p in prep.passages:
            assert p.tokens <= settings.chunk_tokens
            assert (
                count_tokens([p.text])[0] <= settings.chunk_tokens + 10
            )  # joins add whitespace tokens


def test_bilingual_document_splits_into_chinese_then_english_passages() -> None:
    text = (CORPUS / "003_3836cd8526ff3a53.txt").read_text(encoding="utf-8")
    prep = prepare(text, Settings.resolve(env={}))
    langs = [p.language for p in prep.passages]
    assert set(langs) == {"zh", "en"}
    switch = langs.index("en")
    assert all(lang == "zh" for lang in langs[:switch]) and all(
        lang == "en" for lang in langs[switch:]
    )
    assert (
        "In this video, we explore Japan" in prep.passages[switch].text
        or "Military Show" in prep.passages[switch].text
    )


def test_passages_overlap_by_trailing_sentences() -> None:
    text = " ".join(f"Sentence number {i} says something about Japan and aid." for i in range(40))
    sents = split_sentences(text, "en", 60)
    sents = [Span(s.start, s.end, s.text, "en", s.tokens) for s in sents]
    passages = make_passages(text, sents, max_tokens=60, overlap=15)
    assert len(passages) > 3
    for a, b in zip(passages, passages[1:], strict=False):
        assert b.first <= a.last, "the next passage starts inside the previous one"
        assert b.first > a.first


def test_an_over_long_sentence_is_cut_at_token_boundaries() -> None:
    text = "word " * 500
    spans = split_sentences(text, "en", 50)
    assert len(spans) >= 10
    for s in spans:
        assert text[s.start : s.end] == s.text and s.tokens <= 50
