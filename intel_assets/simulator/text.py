# ruff: noqa: RUF001 - the titles are Japanese, Russian, ... on purpose: full-width marks, Cyrillic.
"""Words of the simulated world: titles, descriptions, tags and stream titles in many languages.

Every template names its game only through `{game}`; the rest of the text never contains a
catalog phrase, so which catalog games a video mentions is decided by the generator alone (the
world's `mentioned_games`) and a test checks it against the catalog's own matcher. In Japanese
and Korean the name stands apart (`【Fortnite】`, `Fortnite 새 시즌`): glued to kana or hangul
(`Fortniteの`) it is not a whole word to the catalog's matcher.
"""

import random
from dataclasses import dataclass

from intel_assets.catalog import GameConfig

YOUTUBE_LANGUAGES: tuple[str, ...] = (
    "en",
    "es",
    "pt",
    "de",
    "fr",
    "ja",
    "ko",
    "ru",
    "ar",
    "hi",
    "id",
)
"""Languages of simulated YouTube videos (ISO 639-1)."""

# How the language appears in defaultAudioLanguage / defaultLanguage: YouTube mixes bare codes
# and regional variants.
LANGUAGE_TAGS: dict[str, tuple[str, ...]] = {
    "en": ("en", "en", "en-US", "en-GB"),
    "es": ("es", "es-419", "es-ES", "es-419"),
    "pt": ("pt", "pt-BR", "pt-BR", "pt-PT"),
    "de": ("de",),
    "fr": ("fr", "fr", "fr-CA"),
    "ja": ("ja",),
    "ko": ("ko",),
    "ru": ("ru",),
    "ar": ("ar",),
    "hi": ("hi",),
    "id": ("id",),
}

TITLES: dict[str, tuple[str, ...]] = {
    "en": (
        "I Played {game} for 100 Days",
        "{game} NEW SEASON is INSANE!",
        "Best {game} Settings for Every Player (Updated)",
        "The Funniest {game} Moments of the Week",
        "Beginner's Guide to {game} in 10 Minutes",
        "{game} Tips You NEED to Know",
        "This {game} Trick Feels Illegal",
        "Winning {game} With Only One Rule",
        "Reacting to the {game} Update Trailer",
        "{game} Ranked Until I Reach the Top",
    ),
    "es": (
        "{game}: ¡la NUEVA temporada es increíble!",
        "Jugué 100 días en {game}",
        "Los mejores trucos de {game}",
        "Cómo ganar siempre en {game}",
        "{game} con suscriptores en directo",
        "Momentos más divertidos de {game}",
    ),
    "pt": (
        "{game}: a NOVA temporada está insana!",
        "Joguei 100 dias de {game}",
        "Os melhores truques de {game}",
        "Como ganhar sempre no {game}",
        "{game} com inscritos ao vivo",
    ),
    "de": (
        "{game}: Die NEUE Season ist krass!",
        "Ich habe 100 Tage {game} gespielt",
        "Die besten {game} Tipps für Anfänger",
        "So gewinnst du jede Runde in {game}",
        "{game} Update: alle Änderungen",
    ),
    "fr": (
        "{game} : la NOUVELLE saison est folle !",
        "J'ai joué 100 jours à {game}",
        "Les meilleures astuces {game}",
        "Comment gagner à chaque fois sur {game}",
        "{game} : je teste la mise à jour",
    ),
    "ja": (
        "【{game}】新シーズンがヤバすぎる！",
        "【{game}】100日間サバイバルしてみた",
        "【{game}】初心者向け完全ガイド",
        "【{game}】最強設定を紹介します",
        "【{game}】神プレイ集",
    ),
    "ko": (
        "{game} 새 시즌 미쳤다!",
        "{game} 100일 동안 해봤습니다",
        "{game} 초보자 필수 꿀팁",
        "{game} 랭크 올리는 법",
        "{game} 레전드 장면 모음",
    ),
    "ru": (
        "{game}: НОВЫЙ СЕЗОН просто имба!",
        "Я играл в {game} 100 дней",
        "Лучшие фишки в {game}",
        "Как всегда побеждать в {game}",
        "{game}: смешные моменты",
    ),
    "ar": (
        "{game}: الموسم الجديد خرافي!",
        "لعبت {game} لمدة 100 يوم",
        "أفضل نصائح {game} للمبتدئين",
        "كيف تفوز دائما في {game}",
    ),
    "hi": (
        "{game} का नया सीज़न कमाल है!",
        "मैंने 100 दिन {game} खेला",
        "{game} के बेहतरीन टिप्स",
        "{game} में हर बार कैसे जीतें",
    ),
    "id": (
        "{game}: Season BARU gila banget!",
        "Aku main {game} selama 100 hari",
        "Tips terbaik {game} untuk pemula",
        "Cara selalu menang di {game}",
    ),
}

# Titles that name no game at all (the video is about its game all the same).
UNNAMED_TITLES: dict[str, tuple[str, ...]] = {
    "en": ("This update changes everything", "Ranked grind day 12", "I can't believe this worked"),
    "es": ("Esta actualización lo cambia todo", "Día 12 de ranked"),
    "pt": ("Essa atualização muda tudo", "Dia 12 de ranqueada"),
    "de": ("Dieses Update ändert alles", "Ranked Tag 12"),
    "fr": ("Cette mise à jour change tout", "Jour 12 en classé"),
    "ja": ("このアプデで全部変わった", "ランクマッチ12日目"),
    "ko": ("이번 업데이트 진짜 역대급", "랭크 12일차"),
    "ru": ("Это обновление меняет всё", "Рейтинг, день 12"),
    "ar": ("هذا التحديث غير كل شيء", "اليوم 12 في الرانكد"),
    "hi": ("इस अपडेट ने सब बदल दिया", "रैंक्ड का 12वां दिन"),
    "id": ("Update ini mengubah segalanya", "Hari ke-12 push rank"),
}

SHORT_TITLES: tuple[str, ...] = (
    "{game} clutch 😱",
    "{game} in 30 seconds",
    "wait for it... {game}",
    "{game} 1v4 🔥",
)

CROSSOVER_TITLES: dict[str, tuple[str, ...]] = {
    "en": ("{game} vs {other}: which is better?", "I played {game} and {other} for 24 hours"),
    "es": ("{game} vs {other}: ¿cuál es mejor?",),
    "pt": ("{game} vs {other}: qual é melhor?",),
    "de": ("{game} vs {other}: was ist besser?",),
    "fr": ("{game} vs {other} : lequel est le meilleur ?",),
    "ja": ("{game} vs {other} どっちが面白い？",),
    "ko": ("{game} vs {other} 뭐가 더 재밌을까?",),
    "ru": ("{game} против {other}: что лучше?",),
    "ar": ("{game} ضد {other}: أيهما أفضل؟",),
    "hi": ("{game} vs {other}: कौन बेहतर है?",),
    "id": ("{game} vs {other}: mana yang lebih seru?",),
}

INTROS: dict[str, str] = {
    "en": "In today's video we jump into {game} and try something new.",
    "es": "En el video de hoy jugamos {game} y probamos algo nuevo.",
    "pt": "No vídeo de hoje jogamos {game} e testamos algo novo.",
    "de": "Im heutigen Video spielen wir {game} und testen etwas Neues.",
    "fr": "Dans la vidéo du jour on joue à {game} et on teste un truc nouveau.",
    "ja": "今日は【{game}】で新しいことに挑戦します。",
    "ko": "오늘은 {game} 플레이 영상입니다.",
    "ru": "Сегодня играем в {game} и пробуем что-то новое.",
    "ar": "في فيديو اليوم نلعب {game} ونجرب شيئا جديدا.",
    "hi": "आज के वीडियो में हम {game} खेलते हैं और कुछ नया आज़माते हैं।",
    "id": "Di video hari ini kita main {game} dan coba hal baru.",
}

UNNAMED_INTROS: dict[str, str] = {
    "en": "Thanks for watching! Like and subscribe for more.",
    "es": "¡Gracias por ver! Dale like y suscríbete.",
    "pt": "Valeu por assistir! Deixa o like e se inscreve.",
    "de": "Danke fürs Zuschauen! Abonniert für mehr.",
    "fr": "Merci d'avoir regardé ! Abonnez-vous pour la suite.",
    "ja": "ご視聴ありがとうございます！チャンネル登録お願いします。",
    "ko": "시청해 주셔서 감사합니다! 구독 부탁드려요.",
    "ru": "Спасибо за просмотр! Подписывайтесь на канал.",
    "ar": "شكرا على المشاهدة! لا تنسى الاشتراك.",
    "hi": "देखने के लिए धन्यवाद! सब्सक्राइब ज़रूर करें।",
    "id": "Terima kasih sudah nonton! Jangan lupa subscribe.",
}

# Names people use for a game that the catalog's phrases do not match (other scripts, slang):
# a video using them is about its game without mentioning it in the catalog's sense.
LOCAL_NAMES: dict[str, dict[str, str]] = {
    "fortnite": {"ja": "フォートナイト", "ko": "포트나이트", "ru": "Фортнайт", "ar": "فورتنايت"},
    "minecraft": {"ja": "マイクラ", "ko": "마인크래프트", "ru": "Майнкрафт", "ar": "ماين كرافت"},
    "valorant": {"ja": "ヴァロラント", "ko": "발로란트", "ru": "Валорант", "ar": "فالورانت"},
    "apex_legends": {"ja": "エーペックス", "ko": "에이펙스", "ru": "Апекс", "ar": "ابيكس"},
    "gta": {"ja": "グラセフ", "ko": "지티에이", "ru": "ГТА", "ar": "جاتا", "hi": "जीटीए"},
    "roblox": {"ja": "ロブロックス", "ko": "로블록스", "ru": "Роблокс", "ar": "روبلوكس"},
    "league_of_legends": {"ja": "リーグ・オブ・レジェンド", "ko": "롤", "ru": "Лига Легенд"},
    "warzone": {"ja": "ウォーゾーン", "ko": "워존", "ru": "Варзон", "ar": "وارزون"},
}

OTHER_GAMES: tuple[str, ...] = (
    "Elden Ring",
    "Hollow Knight: Silksong",
    "Stardew Valley",
    "Counter-Strike 2",
    "EA Sports FC 26",
    "Genshin Impact",
    "Baldur's Gate 3",
    "Rocket League",
    "Among Us",
    "Marvel Rivals",
    "Clash Royale",
    "Brawl Stars",
    "Cyberpunk 2077",
    "Terraria",
)
"""Games outside the catalog: the simulated chart's other gaming videos name these."""

GENERIC_TAGS: tuple[str, ...] = (
    "gaming",
    "gameplay",
    "funny moments",
    "tips and tricks",
    "new season",
    "ranked",
    "tutorial",
    "best settings",
    "highlights",
    "update",
)

LANGUAGE_TAG: dict[str, str] = {
    "en": "gaming",
    "es": "juegos",
    "pt": "jogos",
    "de": "spiele",
    "fr": "jeux vidéo",
    "ja": "ゲーム実況",
    "ko": "게임",
    "ru": "игры",
    "ar": "ألعاب",
    "hi": "गेमिंग",
    "id": "game",
}

CHAPTER_NAMES: tuple[str, ...] = ("Gameplay", "Tips", "Best moments", "Ranked", "Results")
SPONSORS: tuple[str, ...] = ("NordShield VPN", "HyperDrink", "Raid Realms", "GameFuel", "SkinVault")
AFFILIATE_DOMAINS: tuple[str, ...] = ("amzn.to", "bit.ly", "geni.us")

STREAM_TITLES: dict[str, tuple[str, ...]] = {
    "en": (
        "{game} ranked grind | !discord !socials",
        "🔴 LIVE chill {game} with chat",
        "DROPS ON | {game} all day",
    ),
    "es": ("{game} con subs | !discord", "🔴 EN DIRECTO {game} hasta la noche"),
    "pt": ("{game} com inscritos | !discord", "🔴 AO VIVO {game} até de manhã"),
    "de": ("{game} mit Zuschauern | !discord", "🔴 LIVE {game} Ranked Grind"),
    "fr": ("{game} avec la commu | !discord", "🔴 LIVE {game} on tryhard"),
    "ru": ("{game} с подписчиками | !discord", "🔴 СТРИМ {game} до утра"),
    "ja": ("【{game}】ランクマ配信 !discord", "{game} まったり配信"),
    "ko": ("{game} 랭크 방송 | !discord", "{game} 시청자 참여"),
    "it": ("{game} con voi | !discord", "🔴 LIVE {game} ranked"),
    "tr": ("{game} takipçilerle | !discord", "🔴 CANLI {game} rank"),
    "pl": ("{game} z widzami | !discord", "🔴 LIVE {game} rankingi"),
    "ar": ("{game} مع المتابعين | !discord", "🔴 بث مباشر {game}"),
}

STREAM_LANGUAGE_TAGS: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "pt": "Português",
    "de": "Deutsch",
    "fr": "Français",
    "ru": "Русский",
    "ja": "日本語",
    "ko": "한국어",
    "it": "Italiano",
    "tr": "Türkçe",
    "pl": "Polski",
    "ar": "العربية",
}
STREAM_TAGS: tuple[str, ...] = (
    "FPS",
    "Competitive",
    "Chill",
    "DropsEnabled",
    "NoBackseating",
    "Ranked",
    "Speedrun",
    "Creative",
    "Esports",
    "Funny",
)


def display_phrase(phrase: str) -> str:
    """A catalog phrase as creators write it: `gta rp` as `GTA RP`, `valorant` as `Valorant`."""
    return " ".join(w.upper() if len(w) <= 3 else w.capitalize() for w in phrase.split())


def game_name_in_text(game: GameConfig, rng: random.Random) -> str:
    """How one video names its game: usually the display name, sometimes another phrase."""
    if rng.random() < 0.7:
        return game.display_name
    return display_phrase(rng.choice(game.phrases))


def description_name(game: GameConfig) -> str:
    """A name of the game that ties a description alone to it (a description phrase)."""
    if game.description_phrases:
        return display_phrase(game.description_phrases[0])
    return game.display_name


def unnamed_reference(game_key: str | None, language: str, rng: random.Random) -> str | None:
    """A name of the game that the catalog does not match, or None (the text names no game)."""
    local = LOCAL_NAMES.get(game_key or "", {}).get(language)
    return local if local is not None and rng.random() < 0.7 else None


@dataclass(frozen=True)
class VideoText:
    """The words of one video.

    Attributes:
        title: The title as uploaded.
        description: The description (links, chapters, hashtags where the video has them).
        tags: The uploader's tags (empty when the video has none; the API then omits `tags`).
        localizations: Language code to (title, description) translations, possibly empty.
    """

    title: str
    description: str
    tags: tuple[str, ...]
    localizations: dict[str, tuple[str, str]]


def format_clock(seconds: int) -> str:
    """A chapter timestamp as creators write it: `0:00`, `4:07`, `1:02:03`."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def chapters(duration_seconds: int, rng: random.Random) -> list[str]:
    """Chapter lines (`0:00 Intro`, ...) spread over a long video."""
    count = rng.randint(3, 6)
    step = duration_seconds // (count + 1)
    lines = ["0:00 Intro"]
    for i in range(1, count + 1):
        lines.append(f"{format_clock(i * step + rng.randint(0, step // 3))} {CHAPTER_NAMES[i % 5]}")
    return lines
