"""Follow-up questions → standalone questions.

With an LLM: the `condense.md` prompt asks it to rewrite the follow-up using the conversation.
Without one (the offline default), a rule that needs no model:

1. A follow-up is **elliptical** when it leans on the conversation: it opens as a continuation
   (`CONTINUATIONS`: "and …", "what about …", "et …", "а …", "那 …", "还有 …", "und …", "y …");
   or it refers back (a pronoun or demonstrative of `BACK_REFERENCES`: "it", "that", "cela",
   "это", "其", "这", "dazu", "eso", "це", …) with at most `MAX_WITH_BACK_REFERENCE` content
   words; or it has at most `MAX_CONTENT_WORDS` content words ("Why?"). Measured on questions
   that stand alone (docs/usage.md, "Follow-ups"): 1 of 56 bundled, 1 of 32 contested, 33 of
   1,190 XQuAD-en, 10 of 1,190 XQuAD-ru, 30 of 1,190 XQuAD-de and 27 of 1,190 XQuAD-es
   questions are read as elliptical (German's possessives "ihr", "ihre" … are left out: with
   them, 45). The tables cover the question languages and German, Spanish and Ukrainian. The
   question's language is not known here, so every table is read for every question, and a
   word that is another language's too is left out or bound: German "dies" (English "dies")
   and "damit" (a conjunction), Spanish "y" only after "¿" (French "Y a-t-il … ?").
2. Its **subject** is the last user question that stood on its own (not elliptical), so that a
   chain of follow-ups keeps the topic of the question that opened it.
3. The standalone question is the subject followed by the follow-up: retrieval then sees the
   topic ("aid") and what the follow-up adds ("Russia"), and balanced retrieval brings each
   side's evidence on that topic.

A follow-up that stands on its own is left as it is, but where it says "he" or "she" after a
question asking who one person is: the name is written beside the pronoun (pronouns.py,
condense_rule).

    >>> condense_rule("And what did Russia say about it?",
    ...               [("user", "How much aid has Japan given Ukraine?")])
    'How much aid has Japan given Ukraine? And what did Russia say about it?'
    >>> condense_rule("Who is Daisaku Kaneko and why does he fight for Russia?",
    ...               [("user", "How much aid has Japan given Ukraine?")])
    'Who is Daisaku Kaneko and why does he fight for Russia?'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import regex

from assistant.answering.asking import (
    asked_about,
    asked_about_chinese,
    asked_about_uncased,
    asks_who,
    capitalised,
)
from assistant.answering.openings import ASKING, after_opening, entries
from assistant.answering.pronouns import POINTING, pronoun, with_referent
from assistant.errors import InvalidRequest, LLMError
from assistant.prompts import render
from assistant.retrieval.bm25 import tokenize
from assistant.retrieval.relevance import WORD

# (role, text) pairs, OpenAI-style {"role", "content"} dicts, or a framework's message objects
# (LangChain's HumanMessage/AIMessage…, LlamaIndex's ChatMessage), read by their attributes.
History = Sequence[tuple[str, str]] | Sequence[dict[str, str]] | Sequence[Any]
# How many of the latest history turns a follow-up is condensed from.
KEPT_TURNS = 50
ROLES = ("user", "assistant", "system")
SKIPPED_ROLES = ("developer", "tool")
FORMS = (
    'give each turn as a (role, text) pair, a {"role": ..., "content": ...} dict or a '
    "LangChain or LlamaIndex chat message, role one of user, assistant, system"
)
# A framework message's role, by the names LangChain's `type` and LlamaIndex's MessageRole use.
FRAMEWORK_ROLES = {
    "human": "user",
    "ai": "assistant",
    "chatbot": "assistant",
    "model": "assistant",
    "function": "tool",
}
# A question of at most this many content words cannot name its own topic ("Et quand ?").
MAX_CONTENT_WORDS = 1
# A question that refers back but has more content words than this usually names its subject
# itself ("Is space exploration worth its cost?").
MAX_WITH_BACK_REFERENCE = 6
# Languages that capitalise every noun: a capitalised word after an article is not a name.
NOUNS_CAPITALISED = frozenset({"de", "lb"})
_ARTICLES = frozenset(
    "der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner "
    "d' dat déi en eng".split()
)

# Words that point back at an earlier turn, per language (lower case). No offline library
# resolves anaphora in these languages; a short closed list of pronouns and demonstratives is
# what the rule needs. Latin and Cyrillic entries are matched as whole words, Chinese ones as
# characters (Chinese has no spaces).
BACK_REFERENCES = {
    "en": "it its this that these those they them their such",
    "fr": "cela ça ceci celui celle ceux celles il elle ils elles leur leurs",
    "ru": "это этом этого этому этим тот та те того тому там он она оно они их него неё нему ней них",
    "zh": "这 那 它 此 其 该 他们 她们 它们",
    "de": "diese dieser dieses diesem diesen dazu darüber davon dafür dagegen daran ihn ihm",
    "es": "esto eso ello este esta estos estas ese esa esos esas ellos ellas",
    "uk": "це цього цьому цим цей ця ці той ті того тому там він вона воно вони їх його її них ним нею",
}


_BACK_WORDS, _BACK_CJK = entries(BACK_REFERENCES, None)
_HAN = regex.compile(r"\p{Han}")


def turns(history: History | None) -> list[tuple[str, str]]:
    """The last KEPT_TURNS turns of a history given as (role, text) pairs, OpenAI-style
    {"role", "content"} dicts or framework message objects (a "developer" or "tool" message is
    left out, as the OpenAI endpoint does); any other shape is an InvalidRequest naming the
    forms. Older turns are dropped, not refused: a chat client sends its whole conversation, and
    a follow-up leans on the last few.

    >>> turns([("user", "How much aid?"), {"role": "assistant", "content": "7.6 billion"}])
    [('user', 'How much aid?'), ('assistant', '7.6 billion')]
    """
    if isinstance(history, str | bytes | dict):
        raise InvalidRequest(f"history must be a list of turns; {FORMS}")
    given = list(history or [])
    out: list[tuple[str, str]] = []
    for n, item in enumerate(given, start=1):
        if isinstance(item, dict):
            role, text = item.get("role"), item.get("content")
        elif isinstance(item, list | tuple) and len(item) == 2:
            role, text = item
        else:
            role, text = _message(item)
        if role in SKIPPED_ROLES:
            continue
        if role not in ROLES or not isinstance(text, str):
            raise InvalidRequest(f"history turn {n} is {str(item)[:80]!r}; {FORMS}")
        out.append((role, text))
    return out[-KEPT_TURNS:]


def _message(item: Any) -> tuple[Any, Any]:
    """(role, text) of a framework's chat message, read by duck typing so that neither framework
    is imported: LangChain's messages name the role in `type` ("human", "ai"; a ChatMessage in
    `role`), LlamaIndex's ChatMessage in `role` (an enum whose value is the name); `content` is
    a string or a list of blocks, whose text parts are the turn. (None, None) for anything else.

    >>> from types import SimpleNamespace as M
    >>> _message(M(type="human", content="How much aid?"))
    ('user', 'How much aid?')
    >>> _message(M(type="ai", content=[{"type": "text", "text": "7.6"}, {"type": "image"}, "bn"]))
    ('assistant', '7.6\\nbn')
    """
    role = getattr(item, "role", None) or getattr(item, "type", None)
    role = getattr(role, "value", role)  # an enum (LlamaIndex's MessageRole)
    if not isinstance(role, str) or not hasattr(item, "content"):
        return None, None
    text = item.content
    if isinstance(text, list):  # content blocks: the text ones, in order
        parts = [
            b if isinstance(b, str) else b.get("text") for b in text if isinstance(b, str | dict)
        ]
        text = "\n".join(p for p in parts if isinstance(p, str))
    return FRAMEWORK_ROLES.get(role, role), text


def elliptical(question: str) -> bool:
    """Does the question lean on an earlier turn (rule 1 above)?

    >>> [elliptical(q) for q in ("Et quand ?", "А что об этом сказала Россия?",
    ...                           "那俄罗斯呢？", "Why does Russia call Japan an adversary?")]
    [True, True, True, False]

    German, Spanish and Ukrainian, languages of the default `languages` that a four-sided
    debate's user asked in (an article is not a back reference):

    >>> [elliptical(q) for q in ("Und was sagen die Umweltverbände dazu?", "¿Y cuánto cuesta?",
    ...     "І що каже Росія про зерно та ціни?", "Was ist mit den Kosten für die Landwirte?",
    ...     "¿Qué hay de los costes para los agricultores?", "Was kostet das Verbot?",
    ...     "Y a-t-il des preuves que le glyphosate est cancérigène ?",
    ...     "What happens if a bee colony dies?",
    ...     "Was muss passieren, damit Glyphosat in der EU verboten wird?")]
    [True, True, True, True, True, False, False, False, False]
    """
    text = question.strip().lower()
    words = [w.strip("'") for w in WORD.findall(text)]
    if after_opening(text) != text:
        return True
    content = len(tokenize(question))
    refers_back = any(w in _BACK_WORDS for w in words) or any(c in text for c in _BACK_CJK)
    return content <= MAX_CONTENT_WORDS or (refers_back and content <= MAX_WITH_BACK_REFERENCE)


def names_nothing(question: str) -> bool:
    """Whether a question holds nothing to search for but question words and stopwords: on
    its own it leans on a question before it, and an answer to it would quote whatever lies
    nearest a bare "when" (a site's comment footer, for "Et quand ?").

    >>> [names_nothing(q) for q in ("Et quand ?", "Why?", "那呢？", "How much?", "А что?",
    ...                              "Kaneko?", "2024?", "Why does Russia call Japan an adversary?")]
    [True, True, True, True, True, False, False, False]
    """
    return all(t in ASKING for t in tokenize(question))


def changes_topic(question: str, subject: str, language: str = "") -> bool:
    """Whether an elliptical follow-up names a thing of its own in place of its subject's
    ("And the jobs?" after "How much will the dam cost?", "What about the sanctions?",
    "那制裁呢？") rather than asking more of the same ("And what did Russia say about it?",
    "Et quand ?"): it holds words the subject does not, besides question words, and points
    back at nothing once its opening ("and", "那") is set aside. Where those words are all
    names (capitalised past the first word: "Et la Russie ?") or numbers ("And in 2023?"), the
    follow-up puts another party or time to the same question, which the subject still asks.
    A name that is the follow-up's first word ("Russia?") or is written in Chinese ("那俄罗斯呢？")
    is not told from a thing, and is searched as one; so is a capitalised word after an
    article in a `language` that capitalises its nouns (German: "Und die Arbeitsplätze?"
    after "Wie viel Wasser verbraucht das Projekt?" was answered on water again; "Und
    Russland?" still names another party).

    >>> aid = "How much aid has Japan given Ukraine?"
    >>> [changes_topic(q, aid) for q in ("What about the sanctions?", "那制裁呢？",
    ...     "Et combien d'habitants ?", "And what did Russia say about it?", "Et quand ?",
    ...     "And the aid?", "А где он был ранен?", "Et la Russie ?", "What about Kaneko?",
    ...     "And in 2023?", "Et où a-t-il été blessé ?", "And his wounds?", "А где его ранили?",
    ...     "那他在哪里受伤？", "¿Y sus heridas?", "Jobs?")]
    [True, True, True, False, False, False, False, False, False, False, False, False, False, False, False, True]
    >>> water = "Wie viel Wasser verbraucht das Projekt?"
    >>> [changes_topic(q, water, "de") for q in ("Und die Arbeitsplätze?", "Und 2023?",
    ...                                            "Und Russland?", "Und die Kosten?")]
    [True, False, False, True]
    """
    body = after_opening(question.strip().lower())
    # Here an inverted pronoun points back too ("Et où a-t-il été blessé ?" asks more of the
    # subject's Kaneko), and so does a personal one the back-reference table leaves out (there
    # it would take standalone questions for follow-ups: "And his wounds?", pronouns.py): read
    # as the same topic, a follow-up is answered as before.
    words = [part.strip("'") for w in WORD.findall(body) for part in w.split("-")]
    pointing = _BACK_WORDS | POINTING
    if any(w in pointing for w in words) or any(c in body for c in _BACK_CJK) or pronoun(body):
        return False
    own = set(tokenize(body)) - ASKING - set(tokenize(subject))
    written = WORD.findall(question.strip())
    named = {
        t
        for before, w in zip(written, written[1:], strict=False)
        # In German every noun is capitalised: one after an article is a thing.
        if w[:1].isupper() and not (language in NOUNS_CAPITALISED and before.lower() in _ARTICLES)
        for t in tokenize(w)
    }
    # A year or a number narrows the same question ("And in 2023?"), it names no new thing.
    return any(not any(ch.isdigit() for ch in t) for t in own - named)


def searched_for(question: str, standalone: str, language: str = "") -> tuple[str, str | None]:
    """What retrieval searches for a question the rule condensed: the standalone question, or
    for a follow-up that changes topic (in its `language`: changes_topic), the follow-up
    itself with its subject as context (retrieval weighs the subject's vector at half the
    follow-up's: hybrid.CONTEXT_WEIGHT).
    Searched as the subject followed by the follow-up, "What about the sanctions?" after
    "How much aid has Japan given Ukraine?" quoted six sentences on aid and none on sanctions.

    >>> searched_for("What about the sanctions?", "How much aid? What about the sanctions?")
    ('What about the sanctions?', 'How much aid?')
    >>> searched_for("And what did Russia say about it?", "How much aid? And what did Russia say about it?")
    ('How much aid? And what did Russia say about it?', None)

    After a question about someone, a follow-up naming someone else and nothing more asks the
    same of them, and is one (asked_about), searched within its subject as one changing topic
    is: "And Jürgen Albrecht?" after "Who is Carmen Ibarra?" was searched and answered as
    both, with lines on neither.

    >>> searched_for("And Jürgen Albrecht?", "Who is Carmen Ibarra? And Jürgen Albrecht?")
    ('And Jürgen Albrecht?', 'Who is Carmen Ibarra?')
    """
    asked = question.strip()  # as the rule wrote it after its subject
    if standalone == question or not asked or not standalone.endswith(asked):
        return standalone, None  # stood alone, or an LLM's rewrite
    subject = standalone[: -len(asked)].strip()
    if not subject:  # cut whole to fit the embedder (core._fitted)
        return standalone, None
    if asked_about(subject) and asked_about(asked):
        return asked, subject  # another person asked about (asked_about), within the subject
    return (asked, subject) if changes_topic(asked, subject, language) else (standalone, None)


def condense_rule(question: str, history: History | None) -> str:
    """The follow-up prefixed with its subject, the last user question that stood alone;
    where the latest question naming anyone asked who one person is, with their name beside
    a personal pronoun that has no name or article before it (pronouns.py): one standing on
    its own ("What did she say about water?") is searched with the name, and so is a
    subject holding such a pronoun; an elliptical one whose subject is that question itself
    is the follow-up with the name, as "Who is Kaneko? Where was he wounded?" reads as a
    question about who he is.

    >>> condense_rule("What did she say about water?", [("user", "Who is Carmen Ibarra?")])
    'What did she (Carmen Ibarra) say about water?'
    >>> condense_rule("Что он сказал о санкциях?", [("user", "Кто такой Сергей Волков?")])
    'Что он (Сергей Волков) сказал о санкциях?'
    >>> water = [("user", "Who is Carmen Ibarra?"), ("user", "What did she say about water?")]
    >>> condense_rule("And about jobs?", water)
    'What did she (Carmen Ibarra) say about water? And about jobs?'
    >>> condense_rule("And what did she say about it?", water)
    'What did she (Carmen Ibarra) say about water? And what did she say about it?'
    >>> condense_rule("他在国会说了什么？", [("user", "谁是岸田文雄？")])
    '他 (岸田文雄)在国会说了什么？'

    After a question naming anything else, or asking who in one case, whom "he" means is not
    guessed:

    >>> [condense_rule("What did she say?", [("user", "Who is Carmen Ibarra?"), ("user", q)])
    ...  for q in ("How much water will Ostwerk use?", "What is Ostwerk?", "who is rosa choque",
    ...            "石破茂对此怎么看？")]
    ['What did she say?', 'What did she say?', 'What did she say?', 'What did she say?']

    A question naming no one ("Who does she work for?") leaves the person as they were:

    >>> condense_rule("What did she say about water?", [("user", "Who is Carmen Ibarra?"),
    ...     ("user", "Who does she work for?"), ("user", "How much water will the mine use?")])
    'What did she (Carmen Ibarra) say about water?'
    >>> condense_rule("And what does she think about it?", [("user", "Who is Carmen Ibarra?"),
    ...     ("user", "How much water will the mine use?")])
    'How much water will the mine use? And what does she (Carmen Ibarra) think about it?'
    """
    asked = [text.strip() for role, text in turns(history) if role == "user" and text.strip()]
    if not asked:
        return question
    person, about = _referent(asked)
    if not elliptical(question):
        return with_referent(question, person) if person else question
    subject, question = (
        next((q for q in reversed(asked) if not elliptical(q)), asked[0]),
        question.strip(),
    )
    if not person:
        return f"{subject} {question}"
    written = with_referent(question, person)
    if subject == about and written != question:
        return written  # the subject held nothing but the name ("Кто такой Сергей Волков?")
    # The name beside the subject's pronoun, or else the follow-up's, each read in its own
    # question (the subject's words are no antecedent of the follow-up's "she").
    if (in_subject := with_referent(subject, person)) != subject:
        return f"{in_subject} {question}"
    return f"{subject} {written}"


def _referent(asked: list[str]) -> tuple[str | None, str]:
    """The one person the latest question naming anyone asks who is, and that question
    ("Who is Carmen Ibarra?", "谁是岸田文雄？"); no one where it names anything else ("What is
    Ostwerk?", "Where is Potosí?", "石破茂对此怎么看？"), more than one, or asks who in one case
    ("who is rosa choque", whose names asking.asked_about_uncased reads against the passages,
    not here). A question naming no one ("Who does she work for?") is passed over."""
    for q in reversed(asked):
        if _HAN.search(q):  # Chinese names are not told from words but in "谁是 …？"
            return asked_about_chinese(q), q
        if capitalised(q) or asked_about_uncased(q):
            who = asked_about(q) if asks_who(q) else ()
            return (who[0], q) if len(who) == 1 else (None, q)
    return None, ""


def condense_llm(llm: Any, prompts_dir: Path, question: str, history: History | None) -> str:
    """Rewrite a follow-up as a standalone question with an LLM (prompts/condense.md); its
    first line, or the question itself when the reply is empty."""
    from llama_index.core.llms import ChatMessage

    prompt = render(prompts_dir, "condense.md", history=turns(history), question=question)
    try:
        reply = llm.chat([ChatMessage(role="user", content=prompt)])
    except Exception as exc:
        raise LLMError.failed(exc) from exc
    text = (reply.message.content or "").strip().splitlines()
    return text[0].strip() if text and text[0].strip() else question


def condense(
    question: str, history: History | None, llm: Any = None, prompts_dir: Path | None = None
) -> str:
    """The standalone question: by the LLM when one is given, else by the rule."""
    history = turns(history)  # refuses a malformed history whether or not it is needed
    if not history:
        return question
    if llm is not None and prompts_dir is not None:
        return condense_llm(llm, prompts_dir, question, history)
    return condense_rule(question, history)
