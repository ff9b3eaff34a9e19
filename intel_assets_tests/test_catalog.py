from pathlib import Path

import pytest

from intel_assets.catalog import CatalogError, load_catalog, normalize_text, parse_catalog


def test_the_catalog_holds_the_seeds_eight_games_with_their_schedules():
    catalog = load_catalog()
    schedule = {
        key: (g.priority, g.refresh_hours, g.video_budget) for key, g in catalog.games.items()
    }
    assert schedule == {
        "fortnite": (1, 2.0, 50),
        "valorant": (1, 2.0, 50),
        "minecraft": (1, 2.0, 50),
        "apex_legends": (2, 3.0, 40),
        "warzone": (2, 3.0, 40),
        "gta": (2, 4.0, 40),
        "roblox": (2, 4.0, 40),
        "league_of_legends": (3, 4.0, 30),
    }
    assert catalog.keys[:3] == ["fortnite", "minecraft", "valorant"]
    assert catalog.keys[-1] == "league_of_legends"
    assert catalog.by_twitch_id()["33214"] == "fortnite"


@pytest.mark.parametrize(
    ("title", "tags", "description", "expected"),
    [
        ("I won 10 FORTNITE games in a row", [], "", ["fortnite"]),
        ("ＦＯＲＴＮＩＴＥ　ＯＧ is back", [], "", ["fortnite"]),
        ("Fortnite™ Chapter 6 tips", [], "", ["fortnite"]),
        ("Ranked grind", ["Valorant", "fps"], "", ["valorant"]),
        ("Minecraft but every block is Roblox", [], "", ["minecraft", "roblox"]),
        ("my daily vlog", [], "today I played some fortnite", ["fortnite"]),
        ("GTA 5 online heists", [], "", ["gta"]),
        ("Apex predator documentary", ["apex legends"], "", []),
        ("Apex Legends season 27 ranked", [], "", ["apex_legends"]),
        ("Unfortunate events", [], "", []),
        ("Bugatti vs gtavibes", [], "", []),
        ("Partida de Valorant con amigos", [], "", ["valorant"]),
        ("", [], "", []),
    ],
)
def test_videos_match_games_by_whole_words(title, tags, description, expected):
    assert load_catalog().games_of(title, tags, description) == expected


def test_normalize_text_folds_width_case_and_punctuation():
    assert normalize_text("Ｆｏｒｔｎｉｔｅ—OG!!") == "fortnite og"
    assert normalize_text("  ÉLITE   Straße ") == "élite strasse"


def test_a_malformed_catalog_is_a_clear_error():
    with pytest.raises(CatalogError, match="no \\[games"):
        parse_catalog({})
    with pytest.raises(CatalogError, match=r"games\.Bad Key"):
        parse_catalog(
            {
                "games": {
                    "Bad Key": {
                        "display_name": "x",
                        "priority": 1,
                        "refresh_hours": 1,
                        "video_budget": 1,
                        "phrases": ["x"],
                        "search_query": "x",
                    }
                }
            }
        )
    with pytest.raises(CatalogError, match="priority"):
        parse_catalog(
            {
                "games": {
                    "ok": {
                        "display_name": "x",
                        "priority": 0,
                        "refresh_hours": 1,
                        "video_budget": 1,
                        "phrases": ["x"],
                        "search_query": "x",
                    }
                }
            }
        )


def test_an_unknown_game_is_named_in_the_error():
    with pytest.raises(CatalogError, match="unknown game 'tetris'"):
        load_catalog().get("tetris")


def test_intel_catalog_path_names_the_catalog_every_reader_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    own = tmp_path / "games.toml"
    own.write_text(
        '[games.tetris]\ndisplay_name = "Tetris"\npriority = 1\nrefresh_hours = 1\n'
        'video_budget = 1250\nphrases = ["tetris"]\nsearch_query = "tetris"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("INTEL_CATALOG_PATH", str(own))

    assert load_catalog().keys == ["tetris"]
    assert load_catalog().get("tetris").video_budget == 1250

    monkeypatch.delenv("INTEL_CATALOG_PATH")
    assert "tetris" not in load_catalog().games
