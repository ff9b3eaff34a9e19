"""Benchmark data made in bulk by Postgres itself (`generate_series`), never row by row.

The rows look like the collection's: one game per video, titles and descriptions in the video's
language (so language detection has real text to read), 80% of videos declaring their audio
language and 45% a metadata language as in the simulator (about 11% declare neither and are
detected), each row's `language` resolved as collection resolves it, counts that grow hour by
hour, tags and topics as arrays.
"""

from datetime import datetime

import psycopg
from psycopg import sql

from intel_assets.analyzers.regional import detect_language, normalize_language_code
from intel_assets.catalog import load_catalog

LANGUAGES: tuple[str, ...] = ("en", "en-US", "es", "pt-BR", "de", "fr", "ja", "ko", "ru", "id")
"""Language tags as YouTube sends them; a video's index picks one."""

TEXTS: dict[str, tuple[str, str]] = {
    "en": ("best moments of the new season", "Today we play the new season with friends and "
           "try every new weapon in ranked. Subscribe for more videos every day"),
    "es": ("mejores momentos de la nueva temporada", "Hoy jugamos la nueva temporada con amigos "
           "y probamos todas las armas nuevas. Suscríbete para ver más videos cada día"),
    "pt": ("melhores momentos da nova temporada", "Hoje jogamos a nova temporada com os amigos "
           "e testamos todas as armas novas. Inscreva-se para mais vídeos todos os dias"),
    "de": ("die besten Momente der neuen Saison", "Heute spielen wir die neue Saison mit "
           "Freunden und testen alle neuen Waffen. Abonniere für mehr Videos jeden Tag"),
    "fr": ("les meilleurs moments de la nouvelle saison", "Aujourd'hui on joue la nouvelle "
           "saison entre amis et on essaie toutes les nouvelles armes. Abonne-toi"),
    "ja": ("新シーズンの最高の瞬間", "今日は友達と新しいシーズンをプレイして、新しい武器を全部"
           "試してみました。毎日動画を投稿しているのでチャンネル登録お願いします"),
    "ko": ("새 시즌 최고의 순간", "오늘은 친구들과 새 시즌을 플레이하고 새로운 무기를 모두 "
           "사용해 봤습니다. 매일 영상을 올리니 구독 부탁드립니다"),
    "ru": ("лучшие моменты нового сезона", "Сегодня играем в новый сезон с друзьями и "  # noqa: RUF001
           "пробуем всё новое оружие. Подписывайтесь, новые видео каждый день"),
    "id": ("momen terbaik musim baru", "Hari ini kita main musim baru bersama teman dan "
           "mencoba semua senjata baru. Subscribe untuk video baru setiap hari"),
}  # fmt: skip

GAMES: tuple[str, ...] = tuple(load_catalog().keys)
"""The catalog's eight games."""


def _base(tag: str) -> str:
    return tag.split("-")[0]


_VIDEO_SELECT = """
SELECT
    'bv' || lpad(to_hex(k.v), 9, '0') AS video_id,
    k.game AS game_key,
    k.at AS collected_at,
    k.game || ':' || to_char(k.at, 'YYYY-MM-DD"T"HH24:MI') AS collection_id,
    (ARRAY['tracked', 'tracked', 'tracked', 'chart', 'search'])[1 + k.v %% 5] AS source,
    initcap(k.game) || ' ' || ({titles}::text[])[1 + k.lang] || ' #' || (k.v %% 997) AS title,
    ({descriptions}::text[])[1 + k.lang] || ' ' || k.v AS description,
    'UCbench' || lpad((k.v %% 5000)::text, 16, '0') AS channel_id,
    'Channel ' || (k.v %% 5000) AS channel_title,
    %(start)s::timestamptz - ((k.v %% 72) * interval '1 hour') AS published_at,
    CASE WHEN k.v %% 3 = 0 THEN 15 + k.v %% 45 ELSE 60 + (k.v * 7) %% 3000 END AS duration_seconds,
    k.v %% 3 = 0 AS is_short,
    (1000 + (k.v * 7919) %% 500000 + k.h * (k.v %% 977))::bigint AS view_count,
    CASE WHEN k.v %% 25 = 0 THEN NULL
         ELSE (40 + (k.v * 31) %% 20000 + k.h * (k.v %% 31))::bigint END AS like_count,
    CASE WHEN k.v %% 20 = 0 THEN NULL ELSE (k.v * 13) %% 900 + k.h END::bigint AS comment_count,
    CASE WHEN k.v %% 10 < 8 THEN ({tags}::text[])[1 + k.lang] END AS default_audio_language,
    CASE WHEN (k.v / 10) %% 20 < 9 THEN ({tags}::text[])[1 + k.lang] END AS default_language,
    CASE WHEN k.v %% 50 = 0 THEN 'ended' ELSE 'none' END AS live_state,
    CASE WHEN k.v %% 50 = 0 THEN NULL ELSE false END AS is_premiere,
    NULL::timestamptz AS scheduled_start,
    NULL::timestamptz AS actual_start,
    NULL::timestamptz AS actual_end,
    NULL::bigint AS concurrent_viewers,
    ARRAY[k.game, 'gaming', ({tags}::text[])[1 + k.lang], 'tag' || (k.v %% 100)] AS tags,
    ARRAY['https://en.wikipedia.org/wiki/Video_game_culture'] AS topic_categories,
    '20' AS category_id,
    CASE WHEN k.v %% 7 = 0 THEN 'sd' ELSE 'hd' END AS definition,
    k.v %% 4 = 0 AS caption,
    k.v %% 5 < 3 AS licensed_content,
    k.v %% 50 = 1 AS made_for_kids,
    k.v %% 17 = 0 AS has_paid_product_placement,
    '{{}}'::text[] AS localization_languages,
    CASE WHEN k.v %% 10 < 8 OR (k.v / 10) %% 20 < 9 THEN ({bases}::text[])[1 + k.lang]
         ELSE ({detected}::text[])[1 + (k.v %% {game_count}) * {language_count} + k.lang]
    END AS language,
    CASE WHEN k.v %% 10 < 8 THEN 'audio' WHEN (k.v / 10) %% 20 < 9 THEN 'default'
         WHEN ({detected}::text[])[1 + (k.v %% {game_count}) * {language_count} + k.lang]
             IS NOT NULL THEN 'detected'
         ELSE 'unknown'
    END AS language_source
FROM (
    SELECT
        v,
        h,
        ({games}::text[])[1 + v %% {game_count}] AS game,
        (v / {game_count}) %% {language_count} AS lang,
        %(start)s::timestamptz + h * interval '1 hour'
            + (c * 60 / %(collections)s) * interval '1 minute'
            + (v %% 50) * interval '1 second' AS at
    FROM generate_series(0, %(hours)s - 1) AS h,
         generate_series(0, %(collections)s - 1) AS c,
         generate_series(%(first_video)s::bigint, %(first_video)s + %(videos)s - 1) AS v
) AS k
"""


def _detected(games: tuple[str, ...], languages: list[str]) -> list[str | None]:
    """What collection detects for a video of each (game, language) that declares none.

    The text differs between videos only in the numbers it ends with, which carry no letters.
    """
    return [
        detect_language(f"{game.title()} {TEXTS[lang][0]} #1\n{TEXTS[lang][1]} 1")
        for game in games
        for lang in languages
    ]


def video_snapshots_select(games: tuple[str, ...] = GAMES) -> sql.Composed:
    """A SELECT of generated `video_snapshots` rows, in table column order.

    Parameters: `start` (first hour), `hours`, `collections` (per hour per video), `videos`
    and `first_video` (the video numbers seen every hour): `hours x collections x videos` rows.
    """
    languages = [_base(tag) for tag in LANGUAGES]
    return sql.SQL(_VIDEO_SELECT).format(
        titles=sql.Literal([TEXTS[lang][0] for lang in languages]),
        descriptions=sql.Literal([TEXTS[lang][1] for lang in languages]),
        tags=sql.Literal(list(LANGUAGES)),
        bases=sql.Literal([normalize_language_code(tag) for tag in LANGUAGES]),
        detected=sql.Literal(_detected(games, languages)),
        games=sql.Literal(list(games)),
        game_count=sql.Literal(len(games)),
        language_count=sql.Literal(len(LANGUAGES)),
    )


def insert_video_snapshots(
    conn: psycopg.Connection,
    table: str,
    start: datetime,
    *,
    hours: int,
    videos: int,
    collections: int = 1,
    first_video: int = 0,
    games: tuple[str, ...] = GAMES,
) -> int:
    """Insert generated snapshots into `table` (month partitions made first); the row count.

    Args:
        conn: A connection (its transaction commits when the caller's block ends).
        table: `video_snapshots` or a table of the same columns.
        start: The first hour (UTC, on the hour).
        hours: Hours of snapshots.
        videos: Videos collected in each hour (each in one game).
        collections: Collections per hour; each sees every video once.
        first_video: Number of the first video (keeps two calls' videos apart).
        games: Game keys the videos are spread over.
    """
    conn.execute(
        "SELECT intel_ensure_month_partition(%s::regclass, m::date) FROM generate_series("
        "date_trunc('month', %s::timestamptz AT TIME ZONE 'UTC'), "
        "%s::timestamptz AT TIME ZONE 'UTC', interval '1 month') AS m "
        "WHERE EXISTS (SELECT 1 FROM pg_partitioned_table p WHERE p.partrelid = %s::regclass)",
        (table, start, _end(start, hours), table),
    )
    query = sql.SQL("INSERT INTO {} ").format(sql.Identifier(table)) + video_snapshots_select(games)
    cursor = conn.execute(
        query,
        {
            "start": start,
            "hours": hours,
            "collections": collections,
            "videos": videos,
            "first_video": first_video,
        },
    )
    return cursor.rowcount


def _end(start: datetime, hours: int) -> datetime:
    from datetime import timedelta

    return start + timedelta(hours=hours)
