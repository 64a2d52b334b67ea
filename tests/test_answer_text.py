"""The answer's text format (answering/text.py) and the figure check (answering/figures.py):
pure functions, no index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answering.citations import disagreements
from assistant.answering.figures import find_quantities, quantities_missing
from assistant.answering.markdown import SafeMarkdown, safe_markdown
from assistant.answering.text import (
    cut,
    export,
    full,
    linked,
    read_references,
    references,
)
from assistant.schema import Answer, Citation

SOURCE = (
    "Intro. Japan gave aid totaling $7.6 billion, it says. <b>Other</b> *claims* [x](y) follow."
)


def citation(n: int, quote: str, **kw: str) -> Citation:
    start = SOURCE.index(quote)
    fields = dict(title="T", outlet=f"Outlet {n}", author="A. Author", side="pro-Russia",
                  voice="state media", language="en", date="2024-01-02", url="https://example.org/a")  # fmt: skip
    fields.update(kw)
    return Citation(
        n=n, source_id="001_src", quote=quote, start=start, end=start + len(quote), score=1.0,
        **fields,
    )  # fmt: skip


def test_llm_markdown_keeps_emphasis_lists_code_and_markers_and_drops_html_images_links() -> None:
    text = (
        "**Both sides** give figures:\n\n- one says *$7.6 billion* [1]\n- `code` stays [2]\n\n"
        "![pixel](http://evil.example/p.png) <img src=x onerror=alert(1)> "
        "[click](http://evil.example/) <http://evil.example/auto> <script>x()</script>\n"
    )
    safe = safe_markdown(text)
    assert "**Both sides**" in safe and "*$7.6 billion* [1]" in safe and "`code` stays [2]" in safe
    assert "- one says" in safe
    assert "evil.example/p.png" not in safe and "<img" not in safe and "<script" not in safe
    assert "](http" not in safe and "<http" not in safe
    assert "pixel" in safe and "click" in safe  # an image's alt text and a link's text stay


# Markdown-ish text: words, markers, emphasis, list items, headings, fences, blank lines.
PIECES = st.sampled_from(
    ["Japan", " gave", " aid", ".", " It", " did", " [1]", " [2]", "**", "*", "`", "\n",
     "\n\n", "- ", "1. ", "# ", "```\n", "<b>", "![a](http://x.example/i.png)", "[l](http://x)",
     "。", "日本", "!", "?", " > "]
)  # fmt: skip


def streamed(text: str, step: int) -> str:
    s, out = SafeMarkdown(), ""
    for i in range(0, len(text), step):
        out += s.feed(text[i : i + step])
    return out + s.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(PIECES, max_size=40), st.integers(min_value=1, max_value=9))
def test_whatever_the_chunks_the_streamed_markdown_renders_no_tag_image_or_link(
    pieces: list[str], step: int
) -> None:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(streamed("".join(pieces), step))
    assert "<img" not in html and "<a " not in html and "<b>" not in html, html


ANSWER = (
    "**Both sides** give figures. The first is larger [1].\n\n- one says *$7.6 billion* [1]\n"
    "- another says $12 billion [2]\n\nA paragraph. Then another sentence [2]! And a third?\n\n"
    "```\ncode <b>\n\nstill code\n```\n\n1. first\n2. second [3]\n\n> quoted\nlazy line\n\n"
    "日本提供了援助。俄罗斯反对。\n"
)


@pytest.mark.parametrize("step", [1, 2, 5, 13, 1000])
def test_what_streams_is_the_whole_answer_for_any_chunk_size(step: int) -> None:
    assert streamed(ANSWER, step) == safe_markdown(ANSWER)


def test_a_paragraph_that_becomes_a_heading_is_not_written_twice() -> None:
    out = streamed("First sentence. Second one\n---\nAfter.", 3)
    assert out.count("First sentence.") == 1 and out.count("Second one") == 1


def test_references_round_trip_with_every_field() -> None:
    a = Answer(
        "How much?",
        "One side gives a figure [1]; another makes claims [2].\n",
        [
            citation(1, "Japan gave aid totaling $7.6 billion, it says."),
            citation(
                2,
                "<b>Other</b> *claims* [x](y) follow.",
                side="unknown",
                suggested_side="pro-Ukraine",
            ),
        ],  # fmt: skip
        [],
        False,
        "llm:m",
    )
    text = export([a], "Export")
    assert text.startswith("# Export\n\n## How much?\n") and text.count("**Sources**") == 1
    refs = read_references(text)
    assert sorted(refs) == [1, 2]
    for c in a.citations:
        r = refs[c.n]
        assert (
            r["quote"] == c.quote == SOURCE[r["start"] : r["end"]] and r["source_id"] == "001_src"
        )
    line = references(a.citations).splitlines()[2]
    for field in ("Outlet 1, A. Author", "pro-Russia, state media", "2024-01-02", " en ",
                  "https://example.org/a"):  # fmt: skip
        assert field in line, field
    # Document text stays inert in the references: no tag, emphasis or link takes effect.
    assert "\\<b\\>" in text and "\\*claims\\*" in text and "\\[x\\](y)" in text
    assert "unknown, side suggested: pro-Ukraine" in text


def test_full_text_has_one_references_list_and_a_cut_keeps_whole_sentences() -> None:
    a = Answer(
        "q",
        "Japan gave aid, says one side [1]. The other side disputes the figure entirely [2].\n",
        [
            citation(1, "Japan gave aid totaling $7.6 billion, it says."),
            citation(2, "<b>Other</b> *claims* [x](y) follow."),
        ],  # fmt: skip
        [],
        False,
        "llm:m",
    )
    whole = full(a)
    assert whole.count("**Sources**") == 1 and whole.startswith(a.answer.rstrip())

    def words(text: str) -> int:
        return len(text.split())

    kept = cut(a, words(whole) - 1, words)
    assert kept.finish_reason == "length" and [c.n for c in kept.citations] == [1]
    assert (
        kept.content.startswith("Japan gave aid, says one side [1].") and "[2]" not in kept.content
    )
    assert kept.content.count("**Sources**") == 1
    assert cut(a, None, words).content == whole


def test_a_cut_never_ends_inside_code_and_keeps_word_of_flagged_claims() -> None:
    from assistant.schema import Claim

    body = "Intro sentence [1].\n\n```\nline one\nline two\nline three\n```\n\nTail [1].\n"
    a = Answer("q", body, [citation(1, "Japan gave aid totaling $7.6 billion, it says.")], [],
               False, "llm:m")  # fmt: skip
    whole = full(a)

    def words(text: str) -> int:
        return len(text.split())

    for limit in range(words(references(a.citations)) + 3, words(whole)):
        kept = cut(a, limit, words).content.partition("\n\n**Sources**")[0]
        assert kept.count("```") % 2 == 0, kept
    notes = "⚠ **Unsupported** — these sentences:\n" + "- Japan gave $19 billion [1].\n" * 20
    body = "Japan gave $19 billion [1]. " + "Another sentence of the answer [1]. " * 30
    flagged = Answer("q", body + "\n\n" + notes,
                     a.citations, [], False, "llm:m",
                     unsupported_sentences=["Japan gave $19 billion [1]."],
                     claims=[Claim("Japan gave $19 billion [1].", [1], False, "figures")])  # fmt: skip
    short = cut(flagged, words(full(flagged)) // 2, words).content
    assert "**Unsupported**" not in short and "Cut for length: 1 sentence(s)" in short
    assert "Another sentence of the answer [1]." in short and short.count("**Sources**") == 1


def test_a_limit_under_the_first_word_still_sends_what_fits() -> None:
    """max_tokens=1 gets the first token's worth of text, as a model's reply would, not an
    empty reply that says the limit was reached."""
    from assistant.serve.openai_api import count_tokens as tokens

    quote = "Japan gave aid totaling $7.6 billion, it says."
    a = Answer("q", f"**pro-Ukraine**\n- Kyiv Independent says: “{quote}” [1]\n",
               [citation(1, quote)], [], False, "extractive")  # fmt: skip
    for limit in (1, 2, 3):
        kept = cut(a, limit, tokens)
        assert kept.content and kept.tokens <= limit and kept.finish_reason == "length"
        assert a.answer.startswith(kept.content) and kept.citations == []
    assert cut(a, 1, tokens).content == "**"
    # Words that fit without the references: a marker goes with the space before it.
    b = Answer("q", "Aid was $7.6 billion [1]. Russia disputes it [1].\n",
               [citation(1, quote)], [], False, "extractive")  # fmt: skip
    kept = cut(b, tokens("Aid was $7.6 billion. Russia disputes it."), tokens)
    assert kept.content == "Aid was $7.6 billion. Russia disputes it.", kept.content


def test_references_read_back_quotes_that_hold_quotation_marks() -> None:
    quote = "<b>Other</b> *claims* [x](y) follow."
    c = citation(1, quote)
    line = references([c])
    assert read_references(line)[1]["quote"] == quote
    c2 = Citation(**{**c.to_dict(), "quote": "He called it “a gift” today · really"})
    assert read_references(references([c2]))[1]["quote"] == "He called it “a gift” today · really"


def test_chat_links_each_marker_to_its_citation() -> None:
    assert linked("a [1] and [12]") == "a [[1]](#cite-1) and [[12]](#cite-12)"


# -- the figure check: (claim, passage, the passage states the claim's quantity) ---------------

FIGURES = [
    ("Japan has given Ukraine $19 billion", "assistance to 19 states", False),
    ("aid went to 19 states", "Japan pledged $19 billion", False),
    ("Japan pledged $12bn", "12 billion dollars in aid", True),
    ("Japan pledged $12bn", "日本承诺提供 120 亿美元", True),
    ("Japan pledged 12 billion dollars", "12 milliards de dollars d'aide", True),
    ("Le Japon a promis 12 milliards de dollars", "$12 billion", True),
    ("Япония выделила 12 млрд долларов", "$12bn", True),
    ("Япония выделила €2,3 млрд", "2,3 milliards d'euros", True),
    ("€2.3 млрд", "2.3 billion euros", True),
    ("€2.3 billion", "$2.3 billion", False),
    ("Japan gave $7.6 billion", "aid totaling $7.6 billion", True),
    ("Japan gave $7.6 billion", "aid totaling $76 billion", False),
    ("日本2024年军费559亿美元", "$55.9 billion in 2024", True),
    ("$55.9 million", "559 亿美元", False),
    ("85% of Japanese support Ukraine", "85 % des Japonais", True),
    ("58% of Japanese support Ukraine", "85% of Japanese people", False),
    ("90 % de la population", "более 90 процентов", True),
    ("1500 万美元", "$15 million", True),
    ("Patriot missiles worth $19 million", "价值 1900 万美元的爱国者导弹", True),
    ("Patriot missiles worth $19 million", "价值 1900 亿美元", False),
    ("In 2016 Abe planned cooperation", "in 2016", True),
    ("in 2017", "in 2016", False),
    ("4,000,000 refugees", "4 000 000 réfugiés", True),
    ("5 billion yen", "5 billion dollars", False),
    ("Japan gave 12 billion", "$12 billion", True),  # a bare amount matches any unit
    ("500 млн рублей", "500 million roubles", True),
    ("Япония выделила 12 миллиардов долларов", "$12 billion", True),
    ("5 миллионов рублей", "5 million roubles", True),
    ("3 тысячи беженцев", "3,000 refugees", True),
    ("Japan gave 12 billion US dollars", "$12 billion", True),
    ("2.01 billion", "20.1 亿美元", True),
    ("In 2022 300 troops", "300 soldiers in 2022", True),
    ("10 rubbish bins", "10 bins", True),  # "rubbish" is no rouble
    ("le secteur 2 a reçu 5 millions", "5 million for sector 2", True),  # "-eur" is no euro
    ("The plan will cost 340 million euros", "costará 340 millones de euros", True),
    ("costará 340 millones de euros", "€340 billion", False),
    ("1,2 mil millones de dólares", "$1.2 billion", True),
    ("1 billón de euros", "€1 trillion", True),  # the Spanish long scale
    ("custou 3 bilhões de reais", "3 billion", True),
    ("3 miliardi di euro", "€3 billion", True),
    ("Kosten von 2,5 Milliarden Euro", "€2.5 billion", True),
    ("4,8 Mio. Euro", "€4.8 million", True),
    ("4,8 Mio. Euro", "$4.8 million", False),  # the euro read after the abbreviation
    ("1,2 mil\nmillones de dólares", "$1.2 billion", True),  # a line break inside
    ("2 Billionen Euro", "€2 trillion", True),
    ("a 3 mil plastic sheet", "3,000 sheets", False),  # "mil" alone is not read
]


def test_numbers_side_by_side_stay_apart_and_words_are_not_currencies() -> None:
    assert [q.amount for q in find_quantities("In 2022 300 troops")] == [2022, 300]
    assert [q.unit for q in find_quantities("10 rubbish, 4 gbps, 3 eurodeputies, 2 eurozone")] == [
        "",
        "",
        "",
        "",
    ]


@pytest.mark.parametrize(("claim", "passage", "same"), FIGURES)
def test_figure_check_reads_amount_unit_and_scale(claim: str, passage: str, same: bool) -> None:
    assert find_quantities(claim), claim
    assert (quantities_missing(claim, [passage]) == []) is same


def test_claims_split_at_sentences_not_at_abbreviations() -> None:
    from assistant.answering.claims import split_claims

    assert split_claims(
        "According to the U.S. government, Japan gave aid [1]. Dr. Smith disagrees, e.g. on "
        "figures [2].\n- 日本提供了援助[1]。俄罗斯反对这一点[2]。"
    ) == [
        "According to the U.S. government, Japan gave aid [1].",
        "Dr. Smith disagrees, e.g. on figures [2].",
        "日本提供了援助[1]。",
        "俄罗斯反对这一点[2]。",
    ]


def test_references_are_read_from_each_answers_list_alone() -> None:
    """A conversation's export merged its answers' lists by number (one answer's [1] hid
    another's), and a line shaped like a reference in an LLM's body was read as one."""
    from assistant import InvalidRequest
    from assistant.answering.text import references_of_each

    def ref(n: int, doc: str) -> str:
        return f"- [{n}] Wire — pro-A, media · 2024-01-01 · en · “Quote {doc}.” · {doc} 0–9"

    one = f"## Q1\n\nA says so [1].\n\n**Sources**\n\n{ref(1, 'a')}\n"
    fake = f"## Q2\n\nB [1].\n{ref(7, 'fake')}\n\n**Sources**\n\n{ref(1, 'b')}\n"
    assert read_references(fake) == {1: read_references(ref(1, "b"))[1]}  # not the body's [7]
    lists = references_of_each(one + "\n" + fake)
    assert [r[1]["source_id"] for r in lists] == ["a", "b"]
    with pytest.raises(InvalidRequest, match="2 answers' references lists"):
        read_references(one + "\n" + fake)


def _said(n: int, source: str, side: str, quote: str) -> Citation:
    return Citation(
        n, source, "T", source, "", side, "unknown", "en", "", quote, 0, len(quote), 1.0
    )


@pytest.mark.parametrize(
    ("question", "quotes", "listed"),
    [
        # Two sources count the thing asked about differently.
        ("How many tanks were lost?",
         [("a", "for", "Russia lost 21 tanks near the town."),
          ("b", "against", "Moscow says it lost only 12 tanks.")],
         ["12 tanks", "21 tanks"]),
        # Both say 300 arrested: one counting the marchers too is no disagreement.
        ("How many people were arrested?",
         [("a", "for", "Police arrested 300 people among the 5,000 people who marched."),
          ("b", "against", "Police said 300 people were arrested.")],
         []),
        # The counts of what the question asks, not of everything the quotes count.
        ("How many tanks were sent?",
         [("a", "for", "The ministry says 14 tanks and 300 soldiers were sent."),
          ("b", "against", "Images show 14 tanks and 900 soldiers were sent.")],
         []),
        # Russian case forms are one thing (PyStemmer, as BM25 reads words).
        ("Сколько танков потеряли?",
         [("a", "for", "ВСУ потеряли 21 танк за неделю."),
          ("b", "against", "Потеряно всего 5 танков.")],
         ["5 танков", "21 танк"]),
        # The question's thing, however each source words it; a count opening its sentence.
        ("How many parking spaces were removed?",
         [("a", "for", "Some 4,000 parking spaces were removed."),
          ("b", "against", "Traders say 9,500 spaces went.")],
         ["4,000 parking spaces", "9,500 spaces"]),
        # Where one quote names the thing asked about, counts of other things are not compared.
        ("How many protesters were arrested?",
         [("a", "for", "Police arrested 300 protesters; 300 officers were deployed."),
          ("b", "against", "Organisers say 500 officers were deployed.")],
         []),
        # Names, models, ranges and years are no counts.
        ("How many tanks were delivered?",
         [("a", "for", "Germany delivered 40 T-72 tanks, 3-5 tanks more, and under Resolution "
                        "2334 tanks were sent in 2023."),
          ("b", "against", "Critics say Germany delivered 40 tanks.")],
         []),
    ],
)  # fmt: skip
def test_counts_are_compared_where_two_sources_count_the_asked_thing_apart(
    question: str, quotes: list[tuple[str, str, str]], listed: list[str]
) -> None:
    cites = [_said(n, src, side, q) for n, (src, side, q) in enumerate(quotes, 1)]
    found = disagreements(cites, count_question=question)
    assert [d["figure"] for d in found] == listed, found
    # Where the question does not ask how many, counts are not compared.
    assert disagreements(cites) == []


@pytest.mark.parametrize(
    ("question", "listed"),
    [
        # "How many" asks for a number of things and nothing else: the jobs, not the costs.
        ("How many jobs will the dam create?", ["800 jobs", "3,000 jobs"]),
        # "Сколько", "combien", "多少" ask for money too: the money stays beside the counts.
        ("Сколько помощи Япония оказала Украине?", ["$7.6 billion", "$12 billion"]),
        ("日本向乌克兰提供了多少援助？", ["$7.6 billion", "$12 billion"]),
    ],
)
def test_money_gives_way_to_counts_only_where_the_question_asks_how_many(
    question: str, listed: list[str]
) -> None:
    """A quote counting the thing asked ("3,000 jobs", "3 пакета помощи", "100名援助人员")
    set money aside whatever the question's words: "Сколько помощи…?" lost its two dollar
    figures because "сколько" asks how many too."""
    quotes = {
        "How many jobs will the dam create?": [
            ("a", "for", "The dam will cost €2.4 billion and create 3,000 jobs."),
            ("b", "against", "It will cost €3.1 billion and create 800 jobs."),
        ],
        "Сколько помощи Япония оказала Украине?": [
            ("a", "for", "Япония выделила 12 млрд долларов помощи."),
            ("b", "against", "Япония дала 7,6 млрд долларов и отправила 3 пакета помощи."),
        ],
        "日本向乌克兰提供了多少援助？": [
            ("a", "for", "日本提供了 120 亿美元援助。"),
            ("b", "against", "日本提供了 76 亿美元，并派出100名援助人员。"),
        ],
    }[question]
    cites = [_said(n, src, side, q) for n, (src, side, q) in enumerate(quotes, 1)]
    found = disagreements(cites, count_question=question)
    assert [d["figure"] for d in found] == listed, found


def test_money_disagreements_give_way_only_to_another_amount_of_millions() -> None:
    """Asked how much, money is set aside where the best quote states millions of something
    else ("1.2 million cubic metres"), not where it states a year or a small number."""

    def cite(n: int, quote: str, score: float) -> Citation:
        return Citation(n, f"s{n}", "", "", "", f"side{n}", "", "en", "", quote, 0, 1, score)

    money = [cite(2, "Japan gave $7.6 billion.", 0.8), cite(3, "Japan gave $1.2 billion.", 0.7)]
    for best, listed in (
        ("Since 2022, Japan has been among Ukraine's largest donors.", True),
        ("Japan sent 3 aid packages.", True),
        ("The plant will use 1.2 million cubic metres of water a year.", False),
    ):
        found = disagreements([cite(1, best, 0.9), *money], amount_question=True)
        assert bool(found) == listed, (best, found)
    assert disagreements([cite(1, "The plant uses 1.2 million m³.", 0.9), *money])
