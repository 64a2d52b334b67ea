"""An answer's own words in its question's language (prompts/wording/), the quotes as written."""

import re
import shutil
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.answering.text import cut, export, full, inert, oneline, references_of_each
from assistant.answering.wording import BUNDLED, Wordings
from assistant.errors import PromptError

from .conftest import CORPUS, QuoteCheckingAssistant

ENGLISH = (BUNDLED / "en.toml").read_text(encoding="utf-8")


def test_every_bundled_language_is_a_whole_translation() -> None:
    """The bundled languages have a file each; each has every key and placeholder of English
    (checked when read), and its sentences are its own, not English left in place."""
    w = Wordings.bundled()
    assert w.languages == ["de", "en", "es", "fr", "ru", "zh"]
    english = w.of("en").templates
    for code in ("de", "es", "fr", "ru", "zh"):
        own = w.of(code).templates
        assert own.keys() == english.keys()
        same = {k for k in own if own[k] == english[k]}
        # French calls its references "Sources" too.
        alike = {"about_separator", "separator", "because", "who_side", "decimal_mark"}
        assert same <= alike | {"sources_heading"}, (
            code,
            same,
        )
    # A language with no file, a regional code, a missing one: English, or the language's own.
    assert w.of("it") is w.of("en") and w.of("und") is w.of("en") and w.of(None) is w.of("en")
    assert w.of("zh-Hant") is w.of("zh") and w.of("FR") is w.of("fr")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda t: t.replace('says = "{who} ({about}) says: {quote}"\n', ""), "missing says"),
        (lambda t: t + 'greeting = "hello"\n', "unknown greeting"),
        (lambda t: t.replace("{quote}", "{quotation}"), r"says lacks \{quote\}; has \{quotation\}"),
        (lambda t: t.replace("{short} short", "short"), r"why_short lacks \{short\};"),
        (lambda t: t.replace('separator = ", "', "separator = 3"), "separator must be text"),
        (
            lambda t: t.replace('separator = ", "', 'separator = ", '),
            "not valid TOML: .*line 1[0-9]",
        ),
        (lambda t: t.replace("says: {quote}", "says: {quote"), "a literal brace is written"),
        (lambda t: t.replace("says: {quote}", "says: {}"), "'{}' has no name"),
        (lambda t: t.replace("says: {quote}", "says: {quote!r}"), "not a plain field"),
    ],
)
def test_a_broken_translation_is_refused_at_start_up_naming_its_file_and_key(
    tmp_path: Path, change, said: str
) -> None:  # type: ignore[no-untyped-def]
    """A translation that lost a placeholder would drop a figure or a side's name from every
    answer, or fail in the middle of one: it fails when the Assistant is made, saying where."""
    folder = tmp_path / "prompts"
    shutil.copytree(BUNDLED.parent, folder)
    (folder / "wording" / "de.toml").write_text(change(ENGLISH), encoding="utf-8")
    with pytest.raises(PromptError, match=said) as caught:
        Assistant(Settings.resolve(index_path=tmp_path / "idx", prompts_dir=folder, env={}))
    assert "de.toml" in str(caught.value)
    # The folder's own English file is held to the bundled one too: the code fills its keys.
    (folder / "wording" / "de.toml").unlink()
    (folder / "wording" / "en.toml").write_text(change(ENGLISH), encoding="utf-8")
    with pytest.raises(PromptError, match=said):
        Assistant(Settings.resolve(index_path=tmp_path / "idx", prompts_dir=folder, env={}))


def test_a_prompts_folder_without_wording_keeps_the_bundled_words(tmp_path: Path) -> None:
    """A folder of one's own LLM prompts made before answers were worded still works."""
    folder = tmp_path / "prompts"
    shutil.copytree(BUNDLED.parent, folder, ignore=shutil.ignore_patterns("wording"))
    a = Assistant(Settings.resolve(index_path=tmp_path / "idx", prompts_dir=folder, env={}))
    assert a.wordings.languages == ["de", "en", "es", "fr", "ru", "zh"]
    assert a.wordings.of("fr").templates == Wordings.bundled().of("fr").templates


@pytest.mark.parametrize(
    ("question", "says", "heading"),
    [
        (
            "How much aid has Japan given Ukraine?",
            ") says: “",
            "**Sources disagree on the figures**",
        ),
        (
            "Combien d'aide le Japon a-t-il donnée à l'Ukraine ?",
            ") dit\u00a0: “",
            "**Les sources divergent",
        ),
        ("日本向乌克兰提供了多少援助？", "）称：“", "**各来源的数字不一致**"),
        (
            "Wie viel Hilfe hat Japan der Ukraine gegeben?",
            ") sagt: “",
            "**Die Quellen nennen unterschiedliche Zahlen**",
        ),
        (
            "¿Cuánta ayuda ha dado Japón a Ucrania?",
            ") dice: “",
            "**Las fuentes discrepan en las cifras**",
        ),
        # Italian has no file here: English.
        ("Quanti aiuti ha dato il Giappone all'Ucraina?", ") says: “", "**Sources disagree"),
    ],
)
def test_an_answer_is_worded_in_its_questions_language(
    assistant: QuoteCheckingAssistant, question: str, says: str, heading: str
) -> None:
    answer = assistant.ask(question)
    assert says in answer.answer and heading in answer.answer, answer.answer
    if says != ") says: “":
        assert "says:" not in answer.answer and "Sources disagree" not in answer.answer
    # Each quote as written, whatever the frame's language (conftest checks every quote
    # against its source's text).
    for c in answer.citations:
        assert f"“{inert(oneline(c.quote))}” [{c.n}]" in answer.answer


def test_an_abstention_is_worded_in_its_questions_language(
    assistant: QuoteCheckingAssistant,
) -> None:
    answer = assistant.ask("Какая погода на Марсе сегодня?")
    assert answer.abstained
    assert answer.answer.startswith("Источники в индексе не дают ответа на этот вопрос. (")
    # The margin missed, with the language's decimal mark.
    assert re.search(r"лучшему не хватает 0,\d{3} до откалиброванного порога", answer.answer)
    # Under filters: only part of the index was searched, and widening them is the way on.
    answer = assistant.ask("Quel temps fait-il sur Mars aujourd'hui ?", side="pro-Russia")
    assert answer.abstained
    assert answer.answer.startswith("Les sources indexées correspondant aux filtres ne répondent")
    assert answer.answer.endswith("élargissez les filtres pour chercher dans tout l’index.)")
    answer = assistant.ask("？？？")
    assert answer.abstained and "问题中没有可供检索的词语" not in answer.answer  # und: English
    assert "no words to search for" in answer.answer


def test_a_language_is_added_by_a_file(tmp_path: Path, index_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    # A wording/ of one's own with Italian alone: laid over the bundled files, which stay.
    folder = tmp_path / "prompts"
    shutil.copytree(BUNDLED.parent, folder, ignore=shutil.ignore_patterns("wording"))
    (folder / "wording").mkdir()
    italian = ENGLISH.replace(") says: {quote}", ") afferma: {quote}").replace(
        "**Sources disagree on the figures** (they may count different things; read the quotes):",
        "**Le fonti non concordano sulle cifre** (forse non contano la stessa cosa; leggete le citazioni):",
    )
    (folder / "wording" / "it.toml").write_text(italian, encoding="utf-8")
    a = QuoteCheckingAssistant(
        Settings.resolve(index_path=index_dir, prompts_dir=folder, env={}), embedder=embedder
    )
    assert a.wordings.languages == ["de", "en", "es", "fr", "it", "ru", "zh"]
    answer = a.ask("Quanti aiuti ha dato il Giappone all'Ucraina?")
    assert ") afferma: “" in answer.answer and "**Le fonti non" in answer.answer, answer.answer
    assert ") dit\u00a0: “" in a.ask("Combien d'aide le Japon a-t-il donnée à l'Ukraine ?").answer
    assert ") says: “" in a.ask("How much aid has Japan given Ukraine?").answer


def test_one_configured_language_words_its_answers_in_it(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """With one language configured no question's language is detected ("und"): its answers
    are worded in that language, not in English."""
    a = QuoteCheckingAssistant(
        Settings.resolve(index_path=tmp_path / "idx", languages="fr", env={}), embedder=embedder
    )
    a.ingest([CORPUS / "000_fa22c8dc189e4776.txt"])
    answer = a.ask("Combien d'aide le Japon a-t-il donnée à l'Ukraine ?", side="pro-Russia")
    assert " dit\u00a0: “" in answer.answer and "says:" not in answer.answer, answer.answer
    # The answer says which language its words follow, and its export's line follows it too.
    assert answer.question_language == "fr"
    assert "*Recherche limitée par les filtres\u00a0: side pro-Russia.*" in export([answer])


def test_an_export_says_its_filters_in_the_questions_language(
    assistant: QuoteCheckingAssistant,
) -> None:
    answer = assistant.ask("Combien d'aide le Japon a-t-il donnée à l'Ukraine ?", side="pro-Russia")
    assert answer.question_language == "fr"
    text = export([answer])
    assert "*Recherche limitée par les filtres\u00a0: side pro-Russia.*" in text, text
    english = export([assistant.ask("How much aid has Japan given?", side="pro-Russia")])
    assert "*Searched within the filters: side pro-Russia.*" in english


def test_references_are_headed_in_the_questions_language_and_read_back(
    assistant: QuoteCheckingAssistant,
) -> None:
    """The references list of a Russian or Chinese answer is headed in its language, its
    words ("undated", an unknown voice) too, and every reader of the text still finds it: the
    export, a cut to a token budget, references_of_each."""
    for question, heading in (
        ("Сколько помощи Япония оказала Украине?", "**Источники**"),
        ("日本向乌克兰提供了多少援助？", "**来源**"),
    ):
        answer = assistant.ask(question)
        assert answer.citations, answer.answer
        whole = full(answer)
        assert f"\n\n{heading}\n\n- [1] " in whole and "**Sources**" not in whole, whole
        read = references_of_each(export([answer]))
        assert len(read) == 1 and sorted(read[0]) == [c.n for c in answer.citations]
        assert all(read[0][c.n]["quote"] == oneline(c.quote) for c in answer.citations)
        kept = cut(answer, 120, lambda s: len(s.split()))
        assert kept.finish_reason == "length" and kept.content.count(heading) == 1, kept.content
        assert sorted(references_of_each(kept.content)[0]) == [c.n for c in kept.citations]
    # A conversation's export in two languages: each answer's list, in order.
    two = [assistant.ask("How much aid has Japan given Ukraine?"), answer]
    assert [sorted(r) for r in references_of_each(export(two))] == [
        [c.n for c in a.citations] for a in two
    ]


def test_the_web_chats_panel_and_export_speak_the_answers_language(
    assistant: QuoteCheckingAssistant,
) -> None:
    """The sources panel of a refused Russian question, and a French conversation's exported
    file: their words in the language the answer is worded in."""
    from types import SimpleNamespace

    from assistant.web.app import exporter
    from assistant.web.render import sources_html

    refused = assistant.ask("Какая погода на Марсе сегодня?")
    assert sources_html(assistant, refused) == "<i>Ни один источник не цитируется.</i>"
    english = assistant.ask("What is the weather on Mars today?")
    assert sources_html(assistant, english) == "<i>No source quoted.</i>"

    french = assistant.ask("Combien d'aide le Japon a-t-il donnée à l'Ukraine ?")
    russian = assistant.ask("Сколько помощи Япония оказала Украине?")
    export_file = exporter()  # its folder lives as long as it does
    update = export_file([french, russian], SimpleNamespace(session_hash="fr"))
    text = Path(update["value"]).read_text(encoding="utf-8")
    assert re.match(r"# Conversation, exportée le \d{4}-\d\d-\d\d \d\d:\d\d\n", text), text[:80]
    # Each answer's references under its own language's heading.
    assert french.citations and russian.citations
    assert text.count("**Sources**") == 1 and text.count("**Источники**") == 1, text


def test_the_pages_labels_are_whole_translations_and_a_language_is_added_by_a_file(
    tmp_path: Path,
) -> None:
    """The web chat's own labels (prompts/page/): every bundled language has every label and
    every upload field's; a page/ folder of one's own adds a language over them, and a label
    the page does not have is refused naming its file."""
    from assistant.sources.model import DECLARED
    from assistant.web.labels import FIELD, Labels

    t = Labels.bundled()
    assert sorted(t.translations) == ["de", "en", "es", "fr", "ru", "zh"]
    assert {FIELD + f.name for f in DECLARED} <= set(t.english)
    for code in ("de", "es", "fr", "ru", "zh"):
        assert set(t.translations[code]) == set(t.english.values()), code
    assert t.english["ask"] == "Ask" and t.translations["en"]["Ask"] == "Ask"

    folder = tmp_path / "prompts"
    (folder / "page").mkdir(parents=True)
    (folder / "page" / "it.toml").write_text('ask = "Chiedi"\n', encoding="utf-8")
    own = Labels(folder)
    assert own.translations["it"] == {"Ask": "Chiedi"}  # the rest falls back to English
    # A label is shown as written, braces included (it is no template).
    (folder / "page" / "it.toml").write_text('ask = "Chiedi {ora}"\n', encoding="utf-8")
    assert Labels(folder).translations["it"] == {"Ask": "Chiedi {ora}"}
    assert own.translations["fr"] == t.translations["fr"]
    (folder / "page" / "it.toml").write_text('ask = "Chiedi"\nsubmit = "Vai"\n', encoding="utf-8")
    with pytest.raises(PromptError, match=r"it\.toml: unknown submit .*remove or rename it"):
        Labels(folder)
    (folder / "page" / "it.toml").write_text('ask = "Chiedi', encoding="utf-8")
    with pytest.raises(PromptError, match=r"it\.toml is not valid TOML"):
        Labels(folder)
