from intel_assets.analyzers.text import (
    find_links,
    fold,
    hashtags,
    is_unspaced_script,
    link_domain,
    parse_link,
    word_spans,
)


def test_fold_unifies_full_width_and_case():
    assert fold("ＦＯＲＴＮＩＴＥ Straße") == "fortnite strasse"


def test_words_keep_their_combining_marks():
    # Thai ทุก has the vowel sign U+0E38 and Hindi हिन्दी virama and vowel signs: one word each.
    text = "ทุก हिन्दी, ok!"
    assert [text[s:e] for s, e in word_spans(text)] == ["ทุก", "हिन्दी", "ok"]


def test_unspaced_scripts_are_cjk_kana_hangul_and_thai():
    assert all(is_unspaced_script(ch) for ch in "字ひカー한ท")
    assert not any(is_unspaced_script(ch) for ch in "aЖعह1")


def test_hashtags_in_any_script_without_the_hash():
    assert hashtags("New! #Fortnite #フォートナイト #ไทย C#2 #shorts.") == [
        "fortnite",
        "フォートナイト",
        "ไทย",
        "shorts",
    ]


def test_links_lose_trailing_punctuation_but_keep_balanced_parentheses():
    text = (
        "Merch: https://shop.example.com/a?b=1. Wiki (https://en.wikipedia.org/wiki/Foo_(bar)) "
        "and www.twitch.tv/someone, or http://[::1"
    )
    assert find_links(text) == [
        "https://shop.example.com/a?b=1",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "www.twitch.tv/someone",
    ]


def test_link_domains_drop_www_and_mobile_prefixes_and_reject_non_urls():
    domains = [
        link_domain(p)
        for link in ["www.twitch.tv/x", "https://M.YouTube.com/watch?v=1"]
        if (p := parse_link(link))
    ]
    assert domains == ["twitch.tv", "youtube.com"]
    assert parse_link("http://[::1") is None
    assert parse_link("http://") is None
