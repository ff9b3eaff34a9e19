"""Title analysis: which words, phrases and title styles go with views in a game.

Every title is folded (NFKC, then case-folded) and cut into words: runs of Unicode letters,
marks and numbers (see `text.py`). Scripts without spaces between words (Chinese, Japanese,
Thai; and Hangul, whose particles cling to words) cannot be split without a dictionary, so a
run of such characters yields its overlapping character bigrams (a lone character yields
itself); a combining mark stays with the character before it. Words are the other runs minus
stop words (a small list of function words for en, es, pt, fr, de, it, ru; none for the
unspaced scripts, where bigrams around particles simply rank low), numbers alone and single
characters. Phrases are two consecutive words of spaced scripts separated only by spaces,
neither a stop word ("season 2" counts; "how to" and "win in" do not).

A term's performance index is the mean relative performance (views against the mean of the
video's own format) of the videos whose title carries it; a term counts once per video.
"""

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from intel_assets.analyzers.base import (
    AnalyzerInputs,
    FeatureSplit,
    Intel,
    KeyFigures,
    LabelledStats,
    TermParams,
    feature_split,
    finite_or_none,
    labelled_stats,
    latest_videos,
    per_row,
    ranked,
    relative_performance,
    term_stats,
)
from intel_assets.analyzers.text import fold, is_unspaced_script, word_spans

_STOP_WORDS_BY_LANGUAGE: dict[str, str] = {
    "en": "a an and are as at be by for from how i in is it me my of on or our so that the this "
    "to vs was we what when who why with you your",
    "es": "al con de del el en es la las lo los mi mis para por que se su un una y",
    "pt": "à ao as com da das de do dos e em eu meu minha na no nos o os para pra um uma",
    "fr": "au aux avec ce ces dans de des du en est et il je la le les ma mes mon ou pour sur un "
    "une",
    "de": "auf aus das dem den der die ein eine einen ich im ist mit und von zu",
    "it": "che con da di gli il in la le lo per un una",
    "ru": "в во и из к как на не но о от по с со что это я",  # noqa: RUF001
}
STOP_WORDS: frozenset[str] = frozenset(
    word for words in _STOP_WORDS_BY_LANGUAGE.values() for word in words.split()
)
"""Function words left out of word statistics (folded; small on purpose: only words that say
nothing about a video in any game)."""

QUESTION_MARKS = frozenset("?¿\u061f\u2e2e")
"""Question marks of Latin, Spanish, Arabic and reversed-question scripts (after NFKC)."""

LENGTH_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("0_29", 0, 30),
    ("30_59", 30, 60),
    ("60_79", 60, 80),
    ("80_plus", 80, 10_000),
)
"""Title lengths in characters, `[min, max)`: YouTube cuts titles near 60-70 in search."""

CAPS_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("under_10pct", 0.0, 0.1),
    ("10_50pct", 0.1, 0.5),
    ("50pct_plus", 0.5, 1.01),
)
"""Share of a title's cased letters that are capitals, `[min, max)`; titles without cased
letters (e.g. Japanese) form the bucket `uncased`."""


@dataclass(frozen=True)
class TitleIntel(Intel):
    """Which title words and styles go with views in a game.

    Attributes:
        videos_without_views: Videos left out of performance figures (no view count).
        avg_title_length: Mean title length in characters.
        avg_caps_share: Mean share of capitals among cased letters (titles with cased letters).
        features: Per style (`has_number`, `has_emoji`, `has_brackets`, `has_question`), videos
            with it against videos without it.
        length_buckets: Performance by title length.
        caps_buckets: Performance by share of capitals.
        top_words: Words (and unspaced-script bigrams) with the highest performance index.
        frequent_words: The most used words, with their performance.
        top_phrases: Two-word phrases with the highest performance index.
        params: The thresholds used.
    """

    videos_without_views: int
    avg_title_length: float | None
    avg_caps_share: float | None
    features: dict[str, FeatureSplit]
    length_buckets: list[LabelledStats]
    caps_buckets: list[LabelledStats]
    top_words: list[LabelledStats]
    frequent_words: list[LabelledStats]
    top_phrases: list[LabelledStats]
    params: TermParams = field(default_factory=TermParams)

    def key_figures(self) -> KeyFigures:
        """Sample, title length and the best word."""
        return {
            "sample_size": self.sample_size,
            "avg_title_length": self.avg_title_length,
            "avg_caps_share": self.avg_caps_share,
            "top_word": self.top_words[0].label if self.top_words else None,
            "question_lift": self.features["has_question"].lift,
        }


def _clusters(run: str) -> list[str]:
    """Characters with their combining marks attached (an approximation of graphemes)."""
    clusters: list[str] = []
    for ch in run:
        if clusters and unicodedata.category(ch).startswith("M"):
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return clusters


def _segments(run: str) -> Iterator[tuple[bool, str]]:
    """The run cut where it switches between unspaced and spaced script: (unspaced, text)."""
    current: list[str] = []
    current_unspaced = False
    for cluster in _clusters(run):
        unspaced = is_unspaced_script(cluster[0])
        if current and unspaced != current_unspaced:
            yield current_unspaced, "".join(current)
            current = []
        current.append(cluster)
        current_unspaced = unspaced
    if current:
        yield current_unspaced, "".join(current)


def title_terms(title: str) -> tuple[list[str], list[str]]:
    """The words and the phrases of a title, each once, in order of first appearance."""
    folded = fold(title)
    words: list[str] = []
    phrases: list[str] = []
    previous: tuple[str, int] | None = None  # last spaced word and where it ended
    for start, end in word_spans(folded):
        offset = start
        for unspaced, segment in _segments(folded[start:end]):
            if unspaced:
                clusters = _clusters(segment)
                pairs = ["".join(clusters[i : i + 2]) for i in range(max(1, len(clusters) - 1))]
                words.extend(pairs)
                previous = None
            else:
                if (
                    previous is not None
                    and folded[previous[1] : offset].isspace()
                    and previous[0] not in STOP_WORDS
                    and segment not in STOP_WORDS
                ):
                    phrases.append(f"{previous[0]} {segment}")
                if len(segment) > 1 and segment not in STOP_WORDS and not segment.isdigit():
                    words.append(segment)
                previous = (segment, offset + len(segment))
            offset += len(segment)
    return list(dict.fromkeys(words)), list(dict.fromkeys(phrases))


def _caps_share(title: str) -> float:
    cased = [ch for ch in title if ch.isupper() or ch.islower()]
    return sum(ch.isupper() for ch in cased) / len(cased) if cased else float("nan")


def _is_pictographic(ch: str) -> bool:
    # Emoji and pictographs are "Symbol, other"; below U+2190 that category holds ©, ®, ™ and
    # the like, which are not decoration.
    return ord(ch) >= 0x2190 and unicodedata.category(ch) == "So"


def analyze(inputs: AnalyzerInputs, params: TermParams | None = None) -> TitleIntel:
    """Words, phrases and title styles of one game's videos against their views."""
    params = params or TermParams()
    latest = latest_videos(inputs)
    views = latest["views"]
    performance = relative_performance(views, latest["is_short"])
    titles = [str(t) for t in latest["title"].fillna("")]
    folded = [fold(t) for t in titles]

    lengths = per_row(latest, [len(t) for t in titles]).astype(float)
    caps = per_row(latest, [_caps_share(t) for t in titles]).astype(float)
    features = {
        "has_number": [any(unicodedata.category(c) == "Nd" for c in t) for t in folded],
        "has_emoji": [any(_is_pictographic(c) for c in t) for t in titles],
        "has_brackets": [any(unicodedata.category(c) == "Ps" for c in t) for t in folded],
        "has_question": [any(c in QUESTION_MARKS for c in t) for t in folded],
    }
    length_buckets = [
        labelled_stats(label, views, performance, (lengths >= low) & (lengths < high))
        for label, low, high in LENGTH_BUCKETS
    ]
    caps_buckets = [
        labelled_stats(label, views, performance, (caps >= low) & (caps < high))
        for label, low, high in CAPS_BUCKETS
    ] + [labelled_stats("uncased", views, performance, caps.isna())]

    terms = [title_terms(t) for t in titles]
    word_table = term_stats(per_row(latest, [w for w, _ in terms]), views, performance)
    phrase_table = term_stats(per_row(latest, [p for _, p in terms]), views, performance)
    return TitleIntel(
        sample_size=int(views.notna().sum()),
        videos_without_views=int(views.isna().sum()),
        avg_title_length=finite_or_none(lengths.mean()) if len(lengths) else None,
        avg_caps_share=finite_or_none(caps.mean()) if caps.notna().any() else None,
        features={
            name: feature_split(views, performance, per_row(latest, has))
            for name, has in features.items()
        },
        length_buckets=length_buckets,
        caps_buckets=caps_buckets,
        top_words=ranked(word_table, by="performance", params=params),
        frequent_words=ranked(word_table, by="frequency", params=params),
        top_phrases=ranked(phrase_table, by="performance", params=params),
        params=params,
    )
