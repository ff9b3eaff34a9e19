"""Regional analysis: which languages a game's videos are in, against Twitch demand per language.

A video's language is its `default_audio_language`, else its `default_language`, else the
language detected in its title and description (their first `DETECTION_TEXT_LIMIT`
characters), resolved when a collection stores the snapshot (`language`, `language_source`) and
here only for rows stored before that; codes are reduced to their ISO 639-1 base
("en-US" is "en", "zh-Hans" is "zh", the old "iw" is "he"), and "zxx"/"und"/"mul" mean none.
Detection uses py3langid (a naive Bayes model: offline, deterministic) restricted to
`DETECTABLE_LANGUAGES`, on the folded text without links, hashtags and mentions; a text with
fewer than `MIN_DETECTION_LETTERS` letters or a top probability under
`MIN_DETECTION_PROBABILITY` stays unknown rather than guessed.

Supply and demand per language L (languages known on either side):

    supply share  s = L's YouTube videos / all YouTube videos with a known language
    demand share  d = L's Twitch viewers / all Twitch viewers with a known language
    competition_score   = 100 * s / (s + d)          (50 when both are 0)
    opportunity_score   = 100 * d / (s + d) * sqrt(d / largest d of any language)   (0 if d = 0)
    market_share_percent = 100 * L's YouTube views / YouTube views of all known languages

Competition is 50 where YouTube supply matches Twitch demand, towards 100 where YouTube is
crowded for the audience and towards 0 where the audience is underserved. Opportunity is the
underserved side weighted by the size of the audience, so a language with one viewer does not
score 100. Without any Twitch viewers there is no demand side: both scores are None.

Twitch figures over a window of several collections: `twitch_stream_count` is the distinct
streams seen, `twitch_avg_viewers` the mean `viewer_count` of their snapshots and
`twitch_total_viewers` the mean over collections of the language's summed viewers (its average
concurrent audience; a collection without the language counts 0), rounded. For one collection
they are the plain count, mean and sum.
"""

import itertools
import math
import unicodedata
from dataclasses import dataclass
from functools import cache

import pandas as pd
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from intel_assets.analyzers.base import (
    AnalyzerInputs,
    Intel,
    KeyFigures,
    finite_or_none,
    latest_videos,
    ratio,
)
from intel_assets.analyzers.common import numeric
from intel_assets.analyzers.text import find_links, fold

DETECTABLE_LANGUAGES: tuple[str, ...] = (
    "en", "es", "pt", "fr", "de", "it", "nl", "sv", "da", "fi", "pl", "cs", "hu", "ro", "el",
    "ru", "uk", "tr", "ar", "fa", "he", "hi", "bn", "id", "ms", "tl", "vi", "th", "ja", "ko", "zh",
)  # fmt: skip
"""Languages detection may answer: those of gaming YouTube and Twitch. Restricting the model to
them keeps short titles from being read as Catalan, Esperanto or Latin."""

MIN_DETECTION_PROBABILITY = 0.3
"""Below this probability of the best language the text's language is unknown. Measured on
short game titles: text with no language in it ("Fortnite", "GG", emoji) scored 0.03-0.21,
real titles 0.4-1.0; the two wrong answers (Portuguese read as Spanish, Russian as Ukrainian)
scored 0.55-0.6, so a threshold cannot catch those."""

MIN_DETECTION_LETTERS = 3
"""Texts with fewer letters ("GG", "1v1") have no language to detect."""

DETECTION_TEXT_LIMIT = 1000
"""Characters of title + description read for detection: the language shows in the first
sentences, and the model's cost grows with the text."""

LANGUAGE_ALIASES: dict[str, str | None] = {
    "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "fil": "tl", "yue": "zh",
    "cmn": "zh", "zxx": None, "und": None, "mul": None, "mis": None, "other": None,
}  # fmt: skip
"""Deprecated or macro-language codes and the 'no language' codes of YouTube and Twitch."""

LANGUAGE_SOURCES = ("audio", "default", "detected", "unknown")
"""Where a video's language came from, in order of preference."""


@cache
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(DETECTABLE_LANGUAGES))
    return identifier


def normalize_language_code(code: object) -> str | None:
    """The ISO 639-1 base of a language tag ("pt-BR" -> "pt"); None for none or junk."""
    if not isinstance(code, str):
        return None
    base = code.strip().replace("_", "-").split("-", 1)[0].lower()
    if base in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[base]
    return base if 2 <= len(base) <= 3 and base.isascii() and base.isalpha() else None


def detect_language(text: str) -> str | None:
    """The language the text is written in, or None when it cannot be told."""
    text = text[:DETECTION_TEXT_LIMIT]
    for link in find_links(text):
        text = text.replace(link, " ")
    words = [w for w in fold(text).split() if not w.startswith(("#", "@"))]
    cleaned = " ".join(words)
    letters = (ch for ch in cleaned if unicodedata.category(ch)[0] == "L")
    if sum(1 for _ in itertools.islice(letters, MIN_DETECTION_LETTERS)) < MIN_DETECTION_LETTERS:
        return None
    language, probability = _identifier().classify(cleaned)
    return str(language) if probability >= MIN_DETECTION_PROBABILITY else None


def video_language(
    audio: object, default: object, title: str, description: str
) -> tuple[str | None, str]:
    """A video's language and where it came from (one of `LANGUAGE_SOURCES`)."""
    if (code := normalize_language_code(audio)) is not None:
        return code, "audio"
    if (code := normalize_language_code(default)) is not None:
        return code, "default"
    if (code := detect_language(f"{title}\n{description}")) is not None:
        return code, "detected"
    return None, "unknown"


LanguageKey = tuple[str | None, str | None, str, str]
"""What a video's language is resolved from: audio and metadata codes, title, description."""


def resolve_languages(
    videos: pd.DataFrame, cache: dict[LanguageKey, tuple[str | None, str]] | None = None
) -> pd.DataFrame:
    """Each snapshot row's language and its source, as `video_language` tells them.

    Rows that already carry a `language_source` (resolved when their collection stored them)
    keep their stored language; the others are resolved here, each distinct text detected once.

    Args:
        videos: Rows with `default_audio_language`, `default_language`, `title` and
            `description`, and optionally the stored `language` and `language_source`.
        cache: Answers already resolved, by `LanguageKey`; those resolved here are added, so a
            caller resolving many frames detects each text once.

    Returns:
        A frame on the same index with `language` (ISO 639-1 or None) and `language_source`
        (one of `LANGUAGE_SOURCES`).
    """
    stored = videos.get("language_source")
    languages: list[str | None] = []
    sources: list[str] = []
    found = {} if cache is None else cache
    for position, (audio, default, title, description) in enumerate(
        zip(
            videos["default_audio_language"],
            videos["default_language"],
            videos["title"],
            videos["description"],
            strict=True,
        )
    ):
        if stored is not None and isinstance(source := stored.iat[position], str):
            language = videos["language"].iat[position]
            languages.append(language if isinstance(language, str) else None)
            sources.append(source)
            continue
        text = (
            "" if pd.isna(title) else str(title),
            "" if pd.isna(description) else str(description),
        )
        key: LanguageKey = (
            audio if isinstance(audio, str) else None,
            default if isinstance(default, str) else None,
            *text,
        )
        if key not in found:
            found[key] = video_language(key[0], key[1], *text)
        language, source = found[key]
        languages.append(language)
        sources.append(source)
    return pd.DataFrame(
        {
            "language": pd.Series(languages, index=videos.index, dtype=object),
            "language_source": pd.Series(sources, index=videos.index, dtype=object),
        }
    )


@dataclass(frozen=True)
class LanguageStats:
    """YouTube supply against Twitch demand in one language (a row of the regional table).

    Attributes:
        language_code: ISO 639-1 code.
        youtube_video_count: Videos in the language.
        youtube_avg_views: Their mean known views.
        youtube_total_views: Their summed known views.
        twitch_stream_count: Distinct Twitch streams in the language.
        twitch_avg_viewers: Mean viewers of a stream snapshot in the language.
        twitch_total_viewers: Average concurrent Twitch viewers in the language.
        competition_score: 0-100, see the module docstring (None without Twitch demand).
        opportunity_score: 0-100, see the module docstring (None without Twitch demand).
        market_share_percent: The language's share of YouTube views, in percent.
    """

    language_code: str
    youtube_video_count: int
    youtube_avg_views: float | None
    youtube_total_views: int
    twitch_stream_count: int
    twitch_avg_viewers: float | None
    twitch_total_viewers: int
    competition_score: float | None
    opportunity_score: float | None
    market_share_percent: float | None


@dataclass(frozen=True)
class RegionalIntel(Intel):
    """Languages of a game on YouTube and Twitch.

    Attributes:
        languages: Per language, supply, demand and scores; most YouTube videos first.
        language_distribution: YouTube videos per language code, most first.
        dominant_language: The language with most YouTube videos (ties: alphabetical).
        language_diversity_score: Normalised Shannon entropy of the YouTube languages in
            [0, 1]: 0 for a single language, 1 for languages equally common.
        language_source: Videos whose language came from audio, default, detection, or none.
        youtube_videos: YouTube videos analysed.
        twitch_streams: Distinct Twitch streams analysed.
        twitch_unknown_language_streams: Streams without a usable language.
    """

    languages: list[LanguageStats]
    language_distribution: dict[str, int]
    dominant_language: str | None
    language_diversity_score: float
    language_source: dict[str, int]
    youtube_videos: int
    twitch_streams: int
    twitch_unknown_language_streams: int

    def key_figures(self) -> KeyFigures:
        """Dominance, diversity and the best opportunity."""
        scored = [lang for lang in self.languages if lang.opportunity_score is not None]
        best = max(
            scored, key=lambda lang: (lang.opportunity_score, lang.language_code), default=None
        )
        return {
            "sample_size": self.sample_size,
            "dominant_language": self.dominant_language,
            "language_diversity_score": self.language_diversity_score,
            "languages": len(self.languages),
            "detected_languages": self.language_source["detected"],
            "unknown_languages": self.language_source["unknown"],
            "best_opportunity_language": best.language_code if best else None,
        }


def _youtube(inputs: AnalyzerInputs) -> tuple[pd.DataFrame, dict[str, int]]:
    latest = latest_videos(inputs)
    resolved = resolve_languages(latest)
    languages = pd.DataFrame(
        {"language": resolved["language"].to_numpy(), "views": latest["views"].to_numpy()}
    )
    counts = resolved["language_source"].value_counts()
    sources = {source: int(counts.get(source, 0)) for source in LANGUAGE_SOURCES}
    return languages, sources


def _twitch(streams: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Per language: stream_count, avg_viewers, concurrent (mean summed viewers per collection)."""
    columns = ["stream_count", "avg_viewers", "concurrent"]
    if streams.empty:
        return pd.DataFrame(columns=columns), 0
    snaps = pd.DataFrame(
        {
            "stream_id": streams["stream_id"].astype(str),
            "collection": streams["collection_id"].astype(str),
            "language": [normalize_language_code(code) for code in streams["language"]],
            "viewers": numeric(streams["viewer_count"]),
        }
    )
    unknown = int(snaps.loc[snaps["language"].isna(), "stream_id"].nunique())
    known = snaps.dropna(subset=["language"])
    collections = snaps["collection"].nunique()
    grouped = known.groupby("language")
    table = pd.DataFrame(
        {
            "stream_count": grouped["stream_id"].nunique(),
            "avg_viewers": grouped["viewers"].mean(),
            "concurrent": grouped["viewers"].sum() / collections,
        }
    )
    return table, unknown


def _shares(values: pd.Series) -> pd.Series:
    """Each value's share of the total (all 0 when the total is 0)."""
    total = float(values.sum())
    return values / total if total > 0 else values * 0.0


def _scores(supply: float, demand: float, largest_demand: float) -> tuple[float, float]:
    """Competition and opportunity (0-100) of a language's supply and demand shares."""
    if supply + demand == 0:
        return 50.0, 0.0
    competition = 100 * (supply / (supply + demand))
    if demand == 0:
        return competition, 0.0
    return competition, 100 * (demand / (supply + demand)) * math.sqrt(demand / largest_demand)


def _diversity(counts: pd.Series) -> float:
    if len(counts) <= 1:
        return 0.0
    shares = counts / counts.sum()
    entropy = -float((shares * shares.map(math.log)).sum())
    return entropy / math.log(len(counts))


def analyze(inputs: AnalyzerInputs) -> RegionalIntel:
    """Language shares of one game's videos and their supply against Twitch demand."""
    videos, sources = _youtube(inputs)
    twitch, unknown_streams = _twitch(inputs.streams)
    known = videos.dropna(subset=["language"]).groupby("language")
    youtube = pd.DataFrame(
        {
            "video_count": known.size(),
            "avg_views": known["views"].mean(),
            "total_views": known["views"].sum(),
        }
    )
    table = youtube.join(twitch, how="outer").sort_index()
    table[["video_count", "stream_count"]] = table[["video_count", "stream_count"]].fillna(0)
    table[["total_views", "concurrent"]] = table[["total_views", "concurrent"]].fillna(0.0)

    supply, demand = _shares(table["video_count"]), _shares(table["concurrent"])
    has_demand = float(table["concurrent"].sum()) > 0
    largest_demand = float(demand.max()) if len(demand) else 0.0
    views_total = float(table["total_views"].sum())

    languages = []
    for code in table.index:
        s, d = float(supply[code]), float(demand[code])
        competition, opportunity = _scores(s, d, largest_demand) if has_demand else (None, None)
        row = table.loc[code]
        languages.append(
            LanguageStats(
                language_code=str(code),
                youtube_video_count=int(row["video_count"]),
                youtube_avg_views=finite_or_none(row["avg_views"]),
                youtube_total_views=int(row["total_views"]),
                twitch_stream_count=int(row["stream_count"]),
                twitch_avg_viewers=finite_or_none(row["avg_viewers"]),
                twitch_total_viewers=round(float(row["concurrent"])),
                competition_score=competition,
                opportunity_score=opportunity,
                market_share_percent=ratio(100 * float(row["total_views"]), views_total),
            )
        )
    languages.sort(
        key=lambda lang: (-lang.youtube_video_count, -lang.twitch_total_viewers, lang.language_code)
    )
    counts = youtube["video_count"].sort_index()
    distribution = {
        str(code): int(n)
        for code, n in sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    }
    streams = int(inputs.streams["stream_id"].nunique()) if not inputs.streams.empty else 0
    return RegionalIntel(
        sample_size=len(videos) + streams,
        languages=languages,
        language_distribution=distribution,
        dominant_language=next(iter(distribution), None),
        language_diversity_score=_diversity(counts),
        language_source=sources,
        youtube_videos=len(videos),
        twitch_streams=streams,
        twitch_unknown_language_streams=unknown_streams,
    )
