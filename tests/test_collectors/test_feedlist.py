"""Feed list TOML round trips, relative path resolution, clear ConfigErrors, OPML in and out."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors import (
    add_feed,
    export_opml,
    import_opml,
    load_feeds,
    remove_feed,
    resolve_feed_url,
    save_feeds,
)
from newswatch import ConfigError, FeedSpec


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://e.example/rss", "https://e.example/rss", id="http-untouched"),
        pytest.param("seeds/sample.xml", "file:///base/dir/seeds/sample.xml", id="relative-path"),
        pytest.param("./snap/../snap", "file:///base/dir/snap", id="relative-normalised"),
        pytest.param("file://seeds/x.xml", "file:///base/dir/seeds/x.xml", id="relative-file-url"),
        pytest.param("file:seeds/x.xml", "file:///base/dir/seeds/x.xml", id="relative-file-colon"),
        pytest.param("file:///abs/feed.xml", "file:///abs/feed.xml", id="absolute-file-url"),
        pytest.param(
            "file://localhost/abs/feed.xml", "file:///abs/feed.xml", id="localhost-file-url"
        ),
        pytest.param("/abs/dir", "file:///abs/dir", id="absolute-path"),
        pytest.param("ftp://e.example/x", "ftp://e.example/x", id="other-scheme-left-for-fetcher"),
    ],
)
def test_resolve_feed_url(url: str, expected: str) -> None:
    assert resolve_feed_url(url, Path("/base/dir")) == expected


def test_save_then_load_round_trips_and_resolves_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "feeds.toml"
    specs = [
        FeedSpec(
            url="snapshots/wsj", name="wsj", outlet="WSJ", interval_s=60, tags=("world", "markets")
        ),
        FeedSpec(url="https://e.example/rss", enabled=False),
    ]
    save_feeds(path, specs)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# newswatch feed list")
    assert 'url = "snapshots/wsj"' in text  # written as given, not absolutised
    loaded = load_feeds(path)
    assert loaded[0].url == (tmp_path / "conf" / "snapshots" / "wsj").as_uri()
    assert loaded[0].model_dump(exclude={"url"}) == specs[0].model_dump(exclude={"url"})
    assert loaded[1] == specs[1]


def test_add_and_remove_by_name_or_url(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    add_feed(path, FeedSpec(url="https://a.example/rss", name="a"))
    add_feed(path, FeedSpec(url="local/b.xml", name="b"))
    removed = remove_feed(path, "a")
    assert removed.url == "https://a.example/rss"
    removed = remove_feed(
        path, (tmp_path / "local" / "b.xml").as_uri()
    )  # the resolved form works too
    assert removed.name == "b"
    assert load_feeds(path) == []


def test_add_refuses_duplicates_with_next_step(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    add_feed(path, FeedSpec(url="https://a.example/rss", name="a"))
    with pytest.raises(ConfigError, match="already has .*newswatch feeds remove"):
        add_feed(path, FeedSpec(url="https://a.example/rss"))


def test_remove_unknown_lists_known_feeds(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    add_feed(path, FeedSpec(url="https://a.example/rss", name="alpha"))
    with pytest.raises(ConfigError, match=r"no feed 'beta'.*alpha"):
        remove_feed(path, "beta")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        pytest.param(
            '[[feeds]]\nurl = "x"\nurl = "y"\n',
            r"feeds\.toml.*not valid TOML.*line 3",
            id="toml-syntax-with-line",
        ),
        pytest.param(
            '[[feeds]]\nurl = "a"\n\n[[feeds]]\nname = "b"\n',
            r"feeds\.toml:4: invalid feed entry \(url: Field required",
            id="missing-url-line",
        ),
        pytest.param(
            '[[feeds]]\nurl = "a"\ninterval_s = -5\n',
            r"feeds\.toml:1: .*interval_s.*greater than 0",
            id="bad-interval",
        ),
        pytest.param(
            '[[feeds]]\nurl = "a"\ncolour = "red"\n', r"colour.*allowed keys are", id="unknown-key"
        ),
        pytest.param(
            "feed = []\n", r"unexpected top-level key.*\[\[feeds\]\]", id="wrong-top-level"
        ),
        pytest.param(
            '[[feeds]]\nurl = "a"\n[[feeds]]\nurl = "a"\n',
            r"'a' appears twice \(lines 1 and 3\)",
            id="duplicate-url",
        ),
    ],
)
def test_bad_file_raises_config_error_naming_file_line_and_fix(
    tmp_path: Path, text: str, pattern: str
) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=pattern):
        load_feeds(path)


def test_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="newswatch feeds add"):
        load_feeds(tmp_path / "nope.toml")


def test_opml_export_then_import_round_trips(tmp_path: Path) -> None:
    specs = [
        FeedSpec(url="https://a.example/rss", name="Alpha & Co", tags=("world", "energy")),
        FeedSpec(url="https://b.example/atom"),
    ]
    path = tmp_path / "subs.opml"
    path.write_text(export_opml(specs), encoding="utf-8")
    imported = import_opml(path)
    assert [(s.url, s.name, s.tags) for s in imported] == [
        ("https://a.example/rss", "Alpha & Co", ("world", "energy")),
        ("https://b.example/atom", "", ()),
    ]


def test_import_opml_reads_nested_outlines_and_skips_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "subs.opml"
    path.write_text(
        """<?xml version="1.0"?><opml version="1.0"><head><title>x</title></head><body>
        <outline text="News"><outline text="Wire" xmlUrl="https://wire.example/rss"/>
        <outline text="Wire again" xmlUrl="https://wire.example/rss"/></outline>
        </body></opml>""",
        encoding="utf-8",
    )
    specs = import_opml(path)
    assert [s.url for s in specs] == ["https://wire.example/rss"]
    assert specs[0].name == "Wire"


def test_import_opml_without_feeds_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "not.opml"
    path.write_text("<html><body>nope</body></html>", encoding="utf-8")
    with pytest.raises(ConfigError, match="lists no feeds"):
        import_opml(path)
