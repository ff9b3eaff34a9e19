-- The seed's reporting functions over the daily tables, fixed for our schema:
-- * "the last N days" are the N complete UTC days before today's UTC date. The seed compared
--   against CURRENT_DATE, which is the session time zone's date (a client in UTC+14 saw
--   tomorrow), and took N + 1 dates, today's incomplete one included.
-- * They are SQL functions, not PL/pgSQL: in the seed's PL/pgSQL the output column
--   `opportunity_score` in ORDER BY referred to the OUT variable, not the computed column.
-- * The optimal duration weighs each day's performance index by its videos, so a day with one
--   video does not count as much as a day with a hundred; ties are broken by name, so the
--   order is stable.
-- * N must be at least 1.

-- True, or an error when a window of days is not at least one day long (a caller's mistake,
-- not an empty answer).
CREATE FUNCTION intel_require_positive_days(p_days INTEGER)
RETURNS BOOLEAN
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    IF p_days IS NULL OR p_days < 1 THEN
        RAISE EXCEPTION 'p_days must be at least 1, got %', p_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN true;
END;
$$;

-- Games ranked by opportunity over the last p_days UTC days: many viral videos and rising
-- views. opportunity_score is the mean over days of avg_viral_count * 10 + max(views_trend, 0).
CREATE FUNCTION get_trending_categories(p_days INTEGER DEFAULT 7)
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
      AND d.date >= (now() AT TIME ZONE 'UTC')::date - p_days
      AND d.date < (now() AT TIME ZONE 'UTC')::date
    GROUP BY d.category_key
    ORDER BY 4 DESC, 1
$$;

-- A game's duration buckets over the last p_days UTC days, best first: the performance index
-- (1.0 = the game's average video) averaged over days weighted by each day's videos, and the
-- videos summed over days (a video seen on two days counts twice). Buckets with fewer than 5
-- are left out: too few to recommend.
CREATE FUNCTION get_optimal_duration(p_category_key TEXT, p_days INTEGER DEFAULT 7)
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
      AND dp.date >= (now() AT TIME ZONE 'UTC')::date - p_days
      AND dp.date < (now() AT TIME ZONE 'UTC')::date
    GROUP BY dp.bucket_label
    HAVING sum(dp.video_count) >= 5
    ORDER BY 2 DESC, 1
$$;
