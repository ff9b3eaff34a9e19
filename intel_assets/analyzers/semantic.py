"""Semantic analysis: the tags and topics of a game's videos, which go together, how they do.

Tags are folded (NFKC, case-folded, runs of whitespace as one space), so `Battle  Royale` and
`battle royale` are one tag; a tag counts once per video. Two tags are linked when the sets
of videos carrying them overlap with a Jaccard index (shared videos / videos with either) of
at least `cluster_min_jaccard`; only tags on at least `min_term_videos` videos take part, so
one video's tag list does not form a cluster by itself. A cluster is a connected component
of linked tags (two or more), so the result depends on the data only, not on row order.

`topicCategories` are Wikipedia URLs; a topic's name is the URL's last path segment, decoded,
with underscores as spaces (`.../wiki/Action_game` is "Action game").
"""

import itertools
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import pandas as pd

from intel_assets.analyzers.base import (
    AnalyzerInputs,
    Intel,
    KeyFigures,
    LabelledStats,
    TermParams,
    as_list,
    finite_or_none,
    group_stats,
    latest_videos,
    per_row,
    ranked,
    relative_performance,
    term_stats,
)
from intel_assets.analyzers.text import fold


@dataclass(frozen=True)
class SemanticParams:
    """Thresholds of tag and topic analysis.

    Attributes:
        terms: How tag and topic lists are cut (and which tags may join clusters).
        cluster_min_jaccard: Overlap of two tags' videos that links them into a cluster.
        max_clusters: Most clusters listed.
    """

    terms: TermParams = field(default_factory=TermParams)
    cluster_min_jaccard: float = 0.5
    max_clusters: int = 20


@dataclass(frozen=True)
class TagCluster:
    """Tags that occur together, and how their videos perform.

    Attributes:
        tags: The cluster's tags, alphabetical.
        video_count: Videos carrying at least one of them.
        avg_views: Mean known views of those videos.
        total_views: Their summed known views.
        performance_index: Their mean relative performance.
    """

    tags: list[str]
    video_count: int
    avg_views: float | None
    total_views: int
    performance_index: float | None


@dataclass(frozen=True)
class SemanticIntel(Intel):
    """Tags and topics of a game's videos.

    Attributes:
        videos_without_views: Videos left out of performance figures (no view count).
        videos_without_tags: Videos with no tags.
        videos_without_topics: Videos with no topic categories.
        distinct_tags: Different tags across the videos.
        avg_tags_per_video: Mean tags per video (videos without tags count as 0).
        top_tags: The most used tags, with their performance.
        best_tags: The tags with the highest performance index.
        tag_clusters: Groups of tags that occur together, largest first.
        topics: Topic categories, most used first.
        params: The thresholds used.
    """

    videos_without_views: int
    videos_without_tags: int
    videos_without_topics: int
    distinct_tags: int
    avg_tags_per_video: float | None
    top_tags: list[LabelledStats]
    best_tags: list[LabelledStats]
    tag_clusters: list[TagCluster]
    topics: list[LabelledStats]
    params: SemanticParams = field(default_factory=SemanticParams)

    def key_figures(self) -> KeyFigures:
        """Tag use and the most used tag and topic."""
        return {
            "sample_size": self.sample_size,
            "distinct_tags": self.distinct_tags,
            "avg_tags_per_video": self.avg_tags_per_video,
            "tag_clusters": len(self.tag_clusters),
            "top_tag": self.top_tags[0].label if self.top_tags else None,
            "top_topic": self.topics[0].label if self.topics else None,
        }


def normalize_tag(tag: str) -> str:
    """A tag folded for counting: NFKC, case-folded, whitespace runs as one space."""
    return " ".join(fold(tag).split())


def topic_name(topic: str) -> str:
    """The readable name of a topicCategories entry (a Wikipedia URL)."""
    try:
        path = urlsplit(topic).path
    except ValueError:
        return topic
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    return unquote(segment).replace("_", " ") if segment else topic


def _clusters(tag_sets: list[list[str]], eligible: set[str], min_jaccard: float) -> list[list[str]]:
    videos_with = Counter(tag for tags in tag_sets for tag in tags if tag in eligible)
    together: Counter[tuple[str, str]] = Counter()
    for tags in tag_sets:
        together.update(itertools.combinations(sorted(t for t in tags if t in eligible), 2))
    parent = {tag: tag for tag in videos_with}

    def root(tag: str) -> str:
        while parent[tag] != tag:
            parent[tag] = parent[parent[tag]]
            tag = parent[tag]
        return tag

    for (a, b), shared in sorted(together.items()):
        if shared / (videos_with[a] + videos_with[b] - shared) >= min_jaccard:
            ra, rb = root(a), root(b)
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, list[str]] = {}
    for tag in sorted(parent):
        members.setdefault(root(tag), []).append(tag)
    return [tags for tags in members.values() if len(tags) > 1]


def analyze(inputs: AnalyzerInputs, params: SemanticParams | None = None) -> SemanticIntel:
    """Tag and topic frequency, performance and tag clusters of one game's videos."""
    params = params or SemanticParams()
    latest = latest_videos(inputs)
    views = latest["views"]
    performance = relative_performance(views, latest["is_short"])
    tag_sets = [
        list(dict.fromkeys(t for t in map(normalize_tag, as_list(tags)) if t))
        for tags in latest["tags"]
    ]
    topic_sets = [
        list(dict.fromkeys(topic_name(t) for t in as_list(topics)))
        for topics in latest["topic_categories"]
    ]
    tag_table = term_stats(per_row(latest, tag_sets), views, performance)
    eligible = set(tag_table.loc[tag_table["video_count"] >= params.terms.min_term_videos, "label"])

    clusters = []
    for tags in _clusters(tag_sets, eligible, params.cluster_min_jaccard):
        in_cluster = pd.Series([bool(set(tags) & set(s)) for s in tag_sets], index=latest.index)
        stats = group_stats(views, performance, in_cluster)
        clusters.append(TagCluster(tags, stats.video_count, stats.avg_views, stats.total_views,
                                   stats.performance_index))  # fmt: skip
    clusters.sort(key=lambda c: (-c.video_count, c.tags))
    topic_params = TermParams(min_term_videos=1, top_n=params.terms.top_n)
    return SemanticIntel(
        sample_size=int(views.notna().sum()),
        videos_without_views=int(views.isna().sum()),
        videos_without_tags=sum(not tags for tags in tag_sets),
        videos_without_topics=sum(not topics for topics in topic_sets),
        distinct_tags=len(tag_table),
        avg_tags_per_video=(
            finite_or_none(sum(map(len, tag_sets)) / len(tag_sets)) if tag_sets else None
        ),
        top_tags=ranked(tag_table, by="frequency", params=params.terms),
        best_tags=ranked(tag_table, by="performance", params=params.terms),
        tag_clusters=clusters[: params.max_clusters],
        topics=ranked(
            term_stats(per_row(latest, topic_sets), views, performance),
            by="frequency",
            params=topic_params,
        ),
        params=params,
    )
