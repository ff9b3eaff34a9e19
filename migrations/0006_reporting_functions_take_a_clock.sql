-- The reporting functions count "the last N complete UTC days" before a point in time that the
-- caller may give (p_as_of). Until now they used the server's now(), so a client with a clock of
-- its own (the read API under a test's clock, a report for a past date) got the days before the
-- server's today instead of its own. p_as_of defaults to now(): a call without it answers as
-- before. The old signatures are dropped so that a two-argument call is not ambiguous.

DROP FUNCTION get_trending_categories(INTEGER);
DROP FUNCTION get_optimal_duration(TEXT, INTEGER);

-- Games ranked by opportunity over the p_days UTC days before p_as_of's UTC date: many viral
-- videos and rising views. opportunity_score is the mean over days of
-- avg_viral_count * 10 + max(views_trend, 0).
CREATE FUNCTION get_trending_categories(
    p_days INTEGER DEFAULT 7,
    p_as_of TIMESTAMPTZ DEFAULT now()
)
RETURNS TABLE (
    category_key TEXT,
    avg_viral_count DOUBLE PRECISION,
    views_trend DOUBLE PRECISION,
    opportunity_score DOUBLE PRECISION
)
LANGUAGE sql
STABLE
AS $$
    SELECT
        d.category_key,
        avg(d.avg_viral_count),
        avg(d.views_trend),
        avg(d.avg_viral_count * 10 + greatest(d.views_trend, 0))
    FROM intel_daily_metrics AS d
    WHERE intel_require_positive_days(p_days)
      AND d.date >= (p_as_of AT TIME ZONE 'UTC')::date - p_days
      AND d.date < (p_as_of AT TIME ZONE 'UTC')::date
    GROUP BY d.category_key
    ORDER BY 4 DESC, 1
$$;

-- A game's duration buckets over the p_days UTC days before p_as_of's UTC date, best first: the
-- performance index (1.0 = the game's average video) averaged over days weighted by each day's
-- videos, and the videos summed over days (a video seen on two days counts twice). Buckets with
-- fewer than 5 are left out: too few to recommend.
CREATE FUNCTION get_optimal_duration(
    p_category_key TEXT,
    p_days INTEGER DEFAULT 7,
    p_as_of TIMESTAMPTZ DEFAULT now()
)
RETURNS TABLE (
    bucket_label TEXT,
    avg_performance_index DOUBLE PRECISION,
    total_videos INTEGER
)
LANGUAGE sql
STABLE
AS $$
    SELECT
        dp.bucket_label,
        sum(dp.performance_index * dp.video_count) / sum(dp.video_count),
        sum(dp.video_count)::INTEGER
    FROM intel_duration_performance AS dp
    WHERE intel_require_positive_days(p_days)
      AND dp.category_key = p_category_key
      AND dp.date >= (p_as_of AT TIME ZONE 'UTC')::date - p_days
      AND dp.date < (p_as_of AT TIME ZONE 'UTC')::date
    GROUP BY dp.bucket_label
    HAVING sum(dp.video_count) >= 5
    ORDER BY 2 DESC, 1
$$;
