"""Description analysis: links, social profiles, sponsorship, hashtags, chapters and length.

Links are found where `http(s)://` or `www.` starts a run of URL characters and parsed with
`urllib.parse` (`text.py`); a link's domain is its host without `www.`/`m.`. A video has:

- a social link when a link's domain is one of `SOCIAL_SITES` (or a subdomain of one);
- an affiliate link when a link's domain is one of `AFFILIATE_SITES`, or its query has one of
  `AFFILIATE_PARAMETERS` (`tag` is Amazon Associates', `ref`/`aff...` the common others);
- a sponsor marker when the folded description contains one of `SPONSOR_PHRASES` as whole
  words ("sponsored by", "use code", "#ad", ... in en, es, pt, de, fr);
- paid product placement when YouTube's `paidProductPlacementDetails` flag says so;
- chapters when at least 3 lines start with a timestamp, the first at 0:00, each later than the
  one before (YouTube's own rule, less its 10-second minimum length).

Each feature is compared with performance as videos with it against videos without it, the
performance of a video being its views relative to the mean of its own format.
"""

import itertools
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

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
from intel_assets.analyzers.text import (
    domain_matches,
    find_links,
    fold,
    hashtags,
    link_domain,
    parse_link,
)

SOCIAL_SITES: dict[str, tuple[str, ...]] = {
    "youtube": ("youtube.com", "youtu.be"),
    "twitch": ("twitch.tv",),
    "x": ("x.com", "twitter.com"),
    "instagram": ("instagram.com", "instagr.am"),
    "tiktok": ("tiktok.com",),
    "discord": ("discord.gg", "discord.com", "discordapp.com"),
    "facebook": ("facebook.com", "fb.com", "fb.gg"),
    "reddit": ("reddit.com",),
    "patreon": ("patreon.com",),
    "kick": ("kick.com",),
    "threads": ("threads.net",),
    "snapchat": ("snapchat.com",),
}
"""Platforms creators link their profiles on, by the domains their links use."""

AFFILIATE_SITES: tuple[str, ...] = (
    "amzn.to", "geni.us", "shareasale.com", "awin1.com", "linksynergy.com", "rstyle.me",
    "howl.me", "skimresources.com", "go.redirectingat.com", "bhpho.to", "anrdoezrs.net",
    "jdoqocy.com", "tkqlhce.com", "dpbolvw.net", "kqzyfj.com", "pntra.com", "sjv.io",
)  # fmt: skip
"""Affiliate networks' redirect domains."""

AFFILIATE_PARAMETERS: frozenset[str] = frozenset(
    {
        "tag",
        "aff",
        "affid",
        "aff_id",
        "affiliate",
        "affiliate_id",
        "ref",
        "ref_id",
        "referral",
        "reflink",
        "partner",
        "partner_id",
    }
)
"""Query parameters that carry an affiliate or referral id (lower case)."""

SPONSOR_PHRASES: tuple[str, ...] = (
    # en
    "sponsored by", "sponsored", "#ad", "#sponsored", "paid promotion", "use code",
    "use my code", "creator code", "support a creator", "affiliate link", "affiliate links",
    # es, pt
    "patrocinado por", "usa el código", "código de creador", "use o código", "código de criador",
    # de, fr
    "gesponsert von", "werbung", "rabattcode", "sponsorisé par", "code créateur",
)  # fmt: skip
"""Words creators use to disclose a sponsor or a creator code (folded)."""

_SPONSOR_PATTERN = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(fold(p)) for p in SPONSOR_PHRASES) + r")(?!\w)"
)
_CHAPTER_LINE = re.compile(r"^\s*[\[(]?((?:\d{1,2}:)?\d{1,2}:\d{2})[\])]?\s*\S", re.MULTILINE)

LENGTH_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("empty", 0, 1),
    ("1_199", 1, 200),
    ("200_999", 200, 1000),
    ("1000_plus", 1000, 1_000_000),
)
"""Description lengths in characters, `[min, max)`; YouTube shows about 200 before "more"."""


DEFAULT_PARAMS = TermParams(min_term_videos=2, top_n=20)
"""Domains and hashtags are sparser than title words: two videos make a pattern."""


@dataclass(frozen=True)
class DescriptionIntel(Intel):
    """What the game's video descriptions hold and how that goes with views.

    Attributes:
        videos_without_views: Videos left out of performance figures (no view count).
        videos_without_description: Videos whose description is empty or missing.
        avg_description_length: Mean description length in characters.
        link_count: Links found in all descriptions.
        invalid_links: Link-like text that is not a URL (not counted as a link).
        videos_with_links: Videos with at least one link.
        top_domains: The most linked domains (videos linking them, their performance).
        social_platforms: Per platform, the videos linking a profile there.
        top_hashtags: The most used hashtags.
        features: Per feature (`has_links`, `has_social_links`, `has_affiliate_links`,
            `has_sponsor_marker`, `has_paid_product_placement`, `has_hashtags`,
            `has_chapters`), videos with it against videos without it.
        length_buckets: Performance by description length.
        params: The thresholds used.
    """

    videos_without_views: int
    videos_without_description: int
    avg_description_length: float | None
    link_count: int
    invalid_links: int
    videos_with_links: int
    top_domains: list[LabelledStats]
    social_platforms: list[LabelledStats]
    top_hashtags: list[LabelledStats]
    features: dict[str, FeatureSplit]
    length_buckets: list[LabelledStats]
    params: TermParams = DEFAULT_PARAMS

    def key_figures(self) -> KeyFigures:
        """Links, sponsorship and chapters."""
        return {
            "sample_size": self.sample_size,
            "videos_with_links": self.videos_with_links,
            "link_count": self.link_count,
            "sponsored_videos": self.features["has_sponsor_marker"].with_feature.video_count,
            "chapters_lift": self.features["has_chapters"].lift,
            "top_domain": self.top_domains[0].label if self.top_domains else None,
        }


@dataclass(frozen=True)
class DescriptionFacts:
    """What one description holds.

    Attributes:
        length: Characters.
        domains: Linked domains, each once, in order of appearance.
        link_count: Valid links.
        invalid_links: Link-like text that does not parse as a URL.
        social_platforms: Platforms of `SOCIAL_SITES` linked.
        has_affiliate_link: A link is an affiliate link.
        has_sponsor_marker: The text discloses a sponsor or a creator code.
        hashtags: Hashtags, each once.
        chapter_count: Chapters (0 unless they meet YouTube's rule).
    """

    length: int
    domains: list[str]
    link_count: int
    invalid_links: int
    social_platforms: list[str]
    has_affiliate_link: bool
    has_sponsor_marker: bool
    hashtags: list[str]
    chapter_count: int


def chapter_count(description: str) -> int:
    """Chapters the description defines: timestamp lines if >= 3, from 0:00, ascending; else 0."""
    seconds = []
    for match in _CHAPTER_LINE.finditer(description):
        parts = [int(p) for p in match.group(1).split(":")]
        seconds.append(sum(value * 60**power for power, value in enumerate(reversed(parts))))
    ascending = all(later > earlier for earlier, later in itertools.pairwise(seconds))
    return len(seconds) if len(seconds) >= 3 and seconds[0] == 0 and ascending else 0


def _is_affiliate(domain: str, query: str) -> bool:
    if domain_matches(domain, AFFILIATE_SITES):
        return True
    return any(key.lower() in AFFILIATE_PARAMETERS for key, _ in parse_qsl(query, True))


def description_facts(description: str) -> DescriptionFacts:
    """Links, social profiles, sponsorship, hashtags and chapters of one description."""
    domains: list[str] = []
    invalid = affiliate = 0
    parsed_links = 0
    for link in find_links(description):
        parts = parse_link(link)
        if parts is None:
            invalid += 1
            continue
        parsed_links += 1
        domain = link_domain(parts)
        domains.append(domain)
        affiliate += _is_affiliate(domain, parts.query)
    unique_domains = list(dict.fromkeys(domains))
    return DescriptionFacts(
        length=len(description),
        domains=unique_domains,
        link_count=parsed_links,
        invalid_links=invalid,
        social_platforms=[
            platform
            for platform, sites in SOCIAL_SITES.items()
            if any(domain_matches(d, sites) for d in unique_domains)
        ],
        has_affiliate_link=affiliate > 0,
        has_sponsor_marker=bool(_SPONSOR_PATTERN.search(fold(description))),
        hashtags=list(dict.fromkeys(hashtags(description))),
        chapter_count=chapter_count(description),
    )


def analyze(inputs: AnalyzerInputs, params: TermParams | None = None) -> DescriptionIntel:
    """Links, sponsorship, hashtags, chapters and length of one game's descriptions."""
    params = params or DEFAULT_PARAMS
    latest = latest_videos(inputs)
    views = latest["views"]
    performance = relative_performance(views, latest["is_short"])
    facts = [description_facts(str(d)) for d in latest["description"].fillna("")]

    lengths = per_row(latest, [f.length for f in facts]).astype(float)
    features = {
        "has_links": per_row(latest, [f.link_count > 0 for f in facts]),
        "has_social_links": per_row(latest, [bool(f.social_platforms) for f in facts]),
        "has_affiliate_links": per_row(latest, [f.has_affiliate_link for f in facts]),
        "has_sponsor_marker": per_row(latest, [f.has_sponsor_marker for f in facts]),
        "has_paid_product_placement": latest["has_paid_product_placement"],
        "has_hashtags": per_row(latest, [bool(f.hashtags) for f in facts]),
        "has_chapters": per_row(latest, [f.chapter_count > 0 for f in facts]),
    }
    platforms = term_stats(per_row(latest, [f.social_platforms for f in facts]), views, performance)
    return DescriptionIntel(
        sample_size=int(views.notna().sum()),
        videos_without_views=int(views.isna().sum()),
        videos_without_description=sum(f.length == 0 for f in facts),
        avg_description_length=finite_or_none(lengths.mean()) if facts else None,
        link_count=sum(f.link_count for f in facts),
        invalid_links=sum(f.invalid_links for f in facts),
        videos_with_links=sum(f.link_count > 0 for f in facts),
        top_domains=ranked(
            term_stats(per_row(latest, [f.domains for f in facts]), views, performance),
            by="frequency",
            params=params,
        ),
        social_platforms=ranked(platforms, by="frequency", params=TermParams(1, len(SOCIAL_SITES))),
        top_hashtags=ranked(
            term_stats(per_row(latest, [f.hashtags for f in facts]), views, performance),
            by="frequency",
            params=params,
        ),
        features={name: feature_split(views, performance, has) for name, has in features.items()},
        length_buckets=[
            labelled_stats(label, views, performance, (lengths >= low) & (lengths < high))
            for label, low, high in LENGTH_BUCKETS
        ],
        params=params,
    )
