"""RFC 9309 robots.txt evaluation, rule by rule of section 2, on the RFC's own examples and on
Google's 400 compliance cases.

Example texts are copied from RFC 9309 (https://www.rfc-editor.org/rfc/rfc9309). Google's cases
(google/robotstxt-spec-test, Apache-2.0, Copyright 2020 Google LLC) are data in
``tests/data/google_robots_cases.json``, built by ``tests/data/build_google_robots_cases.py``.
The last tests show where protego, the obvious library to use, departs from both on the same
inputs.
"""

from __future__ import annotations

import json
import pickle
import random
import time
from pathlib import Path

import pytest
from protego import Protego

from detectors.provenance.robots import PARSE_LIMIT, RobotsDecision, RobotsTxt
from tests.conftest import SHARED_DATA, require

AI_ROBOTS = SHARED_DATA / "optout" / "ai_robots.json"
GOOGLE_CASES = Path(__file__).parent / "data" / "google_robots_cases.json"


def robots(text: str) -> RobotsTxt:
    return RobotsTxt.from_response(200, text.encode("utf-8"))


def allowed(text: str, url: str, agent: str = "ExampleBot") -> bool:
    return robots(text).decide(url, agent).allowed


# 2.2.1, Figure 2: two groups that match the same product token exactly, and the merged group.
RFC_FIGURE_2 = """\
user-agent: ExampleBot
disallow: /foo
disallow: /bar

user-agent: ExampleBot
disallow: /baz
"""

# 2.2.1, Figure 3: two groups that don't explicitly match ExampleBot.
RFC_FIGURE_3 = """\
user-agent: *
disallow: /foo
disallow: /bar

user-agent: BazBot
disallow: /baz
"""

# 5.1, Simple Example (the RFC closes the listing with an "EOF" marker, which is not file content).
RFC_SIMPLE_EXAMPLE = """\
User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot
"""

# 5.2, Longest Match.
RFC_LONGEST_MATCH = """\
User-Agent: foobot
Allow: /example/page/
Disallow: /example/page/disallowed.gif
"""


# --- 2.2.1 The User-Agent Line ---------------------------------------------------------------


def test_product_token_from_the_user_agent_header_is_matched_case_insensitively() -> None:
    # Figure 1: "User-Agent: Mozilla/5.0 (compatible; ExampleBot/0.1; https://www.example.com/bot.html)"
    # is matched by "user-agent: ExampleBot"; the crawler looks groups up by its product token.
    parsed = robots("user-agent: ExampleBot\ndisallow: /\n")
    for token in ("ExampleBot", "examplebot", "EXAMPLEBOT", "exampleBOT"):
        assert parsed.decide("https://www.example.com/", token) == RobotsDecision(
            False, "ExampleBot", "Disallow: /", "rule"
        )


def test_groups_naming_the_same_agent_are_merged() -> None:
    parsed = robots(RFC_FIGURE_2)
    for path in ("/foo", "/bar", "/baz"):
        decision = parsed.decide(path, "ExampleBot")
        assert decision == RobotsDecision(False, "ExampleBot", f"Disallow: {path}", "rule")
    assert parsed.decide("/qux", "ExampleBot") == RobotsDecision(True, "ExampleBot", None, "no-rule")


def test_merging_spans_the_whole_file_and_ignores_case() -> None:
    text = (
        "User-agent: GPTBot\nAllow: /public/\n\nUser-agent: *\nDisallow: /\n\n"
        "USER-AGENT: gptbot\nDisallow: /\n"
    )
    parsed = robots(text)
    assert parsed.decide("/public/a", "GPTBot").allowed
    assert parsed.decide("/private", "GPTBot") == RobotsDecision(False, "GPTBot", "Disallow: /", "rule")


def test_star_group_applies_only_when_no_group_matches() -> None:
    parsed = robots(RFC_FIGURE_3)
    assert parsed.decide("/foo", "ExampleBot") == RobotsDecision(False, "*", "Disallow: /foo", "rule")
    assert parsed.decide("/bar", "ExampleBot").allowed is False
    assert parsed.decide("/baz", "ExampleBot") == RobotsDecision(True, "*", None, "no-rule")
    assert parsed.decide("/baz", "BazBot") == RobotsDecision(False, "BazBot", "Disallow: /baz", "rule")
    assert parsed.decide("/foo", "BazBot") == RobotsDecision(True, "BazBot", None, "no-rule")
    assert parsed.decide("/foo", "*") == RobotsDecision(False, "*", "Disallow: /foo", "rule")


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n", "user-agent: BazBot\ndisallow: /baz\n"])
def test_no_matching_group_and_no_star_group_means_no_rules(text: str) -> None:
    assert robots(text).decide("/baz", "ExampleBot") == RobotsDecision(True, None, None, "no-group")


def test_a_product_token_matches_whole_not_as_a_prefix() -> None:
    text = "User-agent: Applebot\nAllow: /\n\nUser-agent: Claude\nAllow: /\n\nUser-agent: *\nDisallow: /\n"
    parsed = robots(text)
    assert parsed.decide("/a", "Applebot").allowed
    assert parsed.decide("/a", "Applebot-Extended") == RobotsDecision(False, "*", "Disallow: /", "rule")
    assert parsed.decide("/a", "ClaudeBot").agent == "*"


def test_a_version_or_second_word_after_the_token_is_not_part_of_it() -> None:
    parsed = robots("User-agent: GPTBot/1.0\nUser-agent: Brightbot 1.0\nDisallow: /\n")
    assert parsed.decide("/a", "GPTBot") == RobotsDecision(False, "GPTBot/1.0", "Disallow: /", "rule")
    assert parsed.decide("/a", "Brightbot").agent == "Brightbot 1.0"
    # decide compares the crawler whole, as Google's parser does; opted_out names it by its token.
    assert parsed.decide("/a", "Brightbot 1.0").reason == "no-group"
    assert parsed.opted_out("/a", ["Brightbot 1.0"]) == RobotsDecision(
        False, "Brightbot 1.0", "Disallow: /", "rule"
    )


@pytest.mark.parametrize("value", ["GPTBot*", "GPTBot**", "gptbot*/1.0", "GPTBot* # every version"])
def test_a_star_after_the_token_still_names_the_crawler(value: str) -> None:
    parsed = robots(f"User-agent: *\nAllow: /\n\nUser-agent: {value}\nDisallow: /\n")
    written = value.partition("#")[0].strip()
    assert parsed.decide("/a", "GPTBot") == RobotsDecision(False, written, "Disallow: /", "rule")
    assert parsed.opted_out("/a", ["CCBot", "GPTBot"]) == RobotsDecision(
        False, written, "Disallow: /", "rule"
    )
    # The star is not a wildcard: another crawler whose name starts with GPTBot is not named.
    assert parsed.decide("/a", "GPTBot-Extended") == RobotsDecision(True, "*", "Allow: /", "rule")


def test_a_token_with_digits_is_read_as_google_reads_it_and_still_opts_out() -> None:
    parsed = robots("User-agent: *\nAllow: /\n\nUser-agent: AI2Bot\nUser-agent: bigsur.ai\nDisallow: /\n")
    # Google's key is the leading letters, "-" and "_": "AI" and "bigsur" (stress case 369883).
    assert parsed.decide("/a", "AI2Bot").agent == "*"
    assert parsed.decide("/a", "AI") == RobotsDecision(False, "AI2Bot", "Disallow: /", "rule")
    assert not parsed.decide("/a", "bigsur").allowed
    # The audit still reads the group as the one written for those crawlers.
    assert parsed.opted_out("/a", ["AI2Bot"]) == RobotsDecision(False, "AI2Bot", "Disallow: /", "rule")
    assert parsed.opted_out("/a", ["GPTBot", "bigsur.ai"]) == RobotsDecision(
        False, "bigsur.ai", "Disallow: /", "rule"
    )
    assert parsed.opted_out("/a", ["Ai2Bot-Dolma", "GPTBot"]) is None


def test_consecutive_user_agent_lines_form_one_group() -> None:
    # "e" and "f" head one group (2.2: a group starts with one or more user-agent lines).
    text = (
        "user-agent: a\ndisallow: /c\nuser-agent: b\ndisallow: /d\n"
        "user-agent: e\nuser-agent: f\ndisallow: /g\n"
    )
    parsed = robots(text)
    assert [parsed.decide(p, "a").allowed for p in ("/c", "/d", "/g")] == [False, True, True]
    assert [parsed.decide(p, "b").allowed for p in ("/c", "/d", "/g")] == [True, False, True]
    assert parsed.decide("/g", "e") == RobotsDecision(False, "e", "Disallow: /g", "rule")
    assert parsed.decide("/g", "f") == RobotsDecision(False, "f", "Disallow: /g", "rule")


def test_the_last_group_may_have_no_rules_and_then_allows_everything() -> None:
    parsed = robots("User-agent: *\nDisallow: /\n\nUser-agent: quxbot\n")
    assert parsed.decide("/anything", "quxbot") == RobotsDecision(True, "quxbot", None, "no-rule")
    assert parsed.decide("/anything", "otherbot").allowed is False


# --- 2.2.2 The "Allow" and "Disallow" Lines ------------------------------------------------


def test_the_longest_match_decides() -> None:
    text = "User-agent: *\nAllow: /p\nDisallow: /\nDisallow: /folder\nAllow: /folder/page\n"
    parsed = robots(text)
    assert parsed.decide("/page", "x") == RobotsDecision(True, "*", "Allow: /p", "rule")
    assert parsed.decide("/other", "x").rule == "Disallow: /"
    assert parsed.decide("/folder/page", "x").rule == "Allow: /folder/page"
    assert parsed.decide("/folder/other", "x").rule == "Disallow: /folder"


@pytest.mark.parametrize(
    "text",
    [
        "User-agent: *\nAllow: /page\nDisallow: /page\n",
        "User-agent: *\nDisallow: /page\nAllow: /page\n",
        "User-agent: *\nDisallow: /*.html\nAllow: /page.*\n",  # different patterns, same length
    ],
)
def test_allow_wins_a_tie(text: str) -> None:
    decision = robots(text).decide("/page.html", "x")
    assert decision.allowed and decision.rule is not None and decision.rule.startswith("Allow:")


def test_no_matching_rule_allows() -> None:
    assert robots("User-agent: *\nDisallow: /private/\n").decide("/public/", "x") == RobotsDecision(
        True, "*", None, "no-rule"
    )


def test_paths_are_case_sensitive_and_matched_from_their_first_octet() -> None:
    text = "User-agent: *\nDisallow: /Private/\nDisallow: secret\n"
    assert not allowed(text, "/Private/a")
    assert allowed(text, "/private/a")
    assert allowed(text, "/secret")  # a pattern not starting with "/" or "*" cannot match a path
    assert allowed(text, "/a/Private/")


def test_robots_txt_itself_follows_the_rules() -> None:
    # Leave to fetch the rules is not leave to train on them (Google's stress cases 327748, 369883).
    parsed = robots("User-agent: *\nDisallow: /\n")
    assert parsed.decide("https://www.example.com/robots.txt", "x") == RobotsDecision(
        False, "*", "Disallow: /", "rule"
    )
    assert parsed.opted_out("/robots.txt", ["GPTBot"]) == RobotsDecision(False, "*", "Disallow: /", "rule")
    assert allowed("User-agent: *\nDisallow: /private/\n", "/robots.txt")
    assert RobotsTxt.from_response(503, None).decide("/robots.txt", "x").reason == "unreachable-5xx"


# 2.2.2, Figure 4 (examples of matching percent-encoded URI components): Path, Encoded Path, Path to Match.
RFC_PERCENT_ENCODING_TABLE = [
    ("/foo/bar?baz=quz", "/foo/bar?baz=quz", "/foo/bar?baz=quz"),
    (
        "/foo/bar?baz=https://foo.bar",
        "/foo/bar?baz=https%3A%2F%2Ffoo.bar",
        "/foo/bar?baz=https%3A%2F%2Ffoo.bar",
    ),
    ("/foo/bar/ツ", "/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84"),
    ("/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84"),
    ("/foo/bar/%62%61%7A", "/foo/bar/%62%61%7A", "/foo/bar/baz"),
]


@pytest.mark.parametrize("row", RFC_PERCENT_ENCODING_TABLE[:4], ids=lambda row: row[0])
def test_percent_encoding_table(row: tuple[str, str, str]) -> None:
    # Every spelling in a row names the same resource: in a rule, in a URL as sent (the encoded
    # columns) and, for opted_out, in a URL as a corpus records it (the first column).
    path = row[0]
    for rule in row:
        parsed = robots(f"User-agent: *\nDisallow: {rule}\n")
        expected = RobotsDecision(False, "*", f"Disallow: {rule}", "rule")
        for url in row[1:]:
            assert parsed.decide(f"https://www.example.com{url}", "x") == expected, (rule, url)
        assert parsed.opted_out(f"https://www.example.com{path}", ["GPTBot"]) == expected, rule


def test_escaped_unreserved_characters_are_not_decoded() -> None:
    # Figure 4's last row reads "/foo/bar/%62%61%7A" as "/foo/bar/baz"; Google's parser and its
    # compliance cases (non-ascii-paths) do not, and neither does this one.
    text = "User-agent: *\nDisallow: /foo/bar/%62%61%7A\n"
    assert not allowed(text, "/foo/bar/%62%61%7A")
    assert allowed(text, "/foo/bar/baz")
    assert allowed("User-agent: *\nDisallow: /private/a\n", "/private/%61")


def test_a_raw_non_ascii_url_is_encoded_by_opted_out_only() -> None:
    text = "User-agent: *\nDisallow: /wiki/中国\n"
    assert not allowed(text, "https://zh.wikipedia.org/wiki/%E4%B8%AD%E5%9B%BD")
    assert allowed(text, "https://zh.wikipedia.org/wiki/中国")  # decide takes the URL as sent
    assert robots(text).opted_out("https://zh.wikipedia.org/wiki/中国", ["GPTBot"]) == RobotsDecision(
        False, "*", "Disallow: /wiki/中国", "rule"
    )


def test_hex_digits_of_escapes_may_be_lower_case() -> None:
    assert not allowed("User-agent: *\nDisallow: /foo/bar/%E3%83%84\n", "/foo/bar/%e3%83%84")
    assert not allowed("User-agent: *\nDisallow: /foo/bar/%e3%83%84\n", "/foo/bar/%E3%83%84")
    assert robots("User-agent: *\nDisallow: /foo/bar/%e3%83%84\n").opted_out("/foo/bar/ツ", ["x"])


@pytest.mark.parametrize(
    ("rule", "url"),
    [("/a%2Fb", "/a/b"), ("/a/b", "/a%2Fb"), ("/a%3Db", "/a=b"), ("/a%3Fb", "/a?b"), ("/a%3Bb", "/a;b")],
)
def test_escaped_reserved_characters_are_not_decoded(rule: str, url: str) -> None:
    text = f"User-agent: *\nDisallow: {rule}\n"
    assert allowed(text, url)
    assert not allowed(text, rule)


def test_rules_before_the_first_user_agent_line_are_ignored() -> None:
    text = "Disallow: /\nAllow: /x\n\nUser-agent: *\nDisallow: /private/\n"
    assert allowed(text, "/public")
    assert robots("Disallow: /\n").decide("/public", "x") == RobotsDecision(True, None, None, "no-group")


# --- 2.2.3 Special Characters ---------------------------------------------------------------


def test_special_characters_table() -> None:
    # 2.2.3, Figure 5: "#", "$" and "*", each in the RFC's example line.
    parsed = robots(
        "user-agent: commentbot\n"
        "allow: / # comment in line\n"
        "\n"
        "# comment on its own line\n"
        "user-agent: dollarbot\n"
        "disallow: /\n"
        "allow: /this/path/exactly$\n"
        "\n"
        "user-agent: starbot\n"
        "disallow: /\n"
        "allow: /this/*/exactly\n"
    )
    assert parsed.decide("/x", "commentbot") == RobotsDecision(True, "commentbot", "Allow: /", "rule")
    assert parsed.decide("/this/path/exactly", "dollarbot").rule == "Allow: /this/path/exactly$"
    assert parsed.decide("/this/path/exactly/more", "dollarbot").allowed is False
    assert parsed.decide("/this/path/exactly?query", "dollarbot").allowed is False
    assert parsed.decide("/this/path/exactly", "starbot").rule == "Allow: /this/*/exactly"
    assert parsed.decide("/this/a/b/exactly", "starbot").allowed  # "*" crosses "/"
    assert parsed.decide("/this/exactly", "starbot").allowed is False


@pytest.mark.parametrize(
    ("pattern", "uri", "other"),
    [
        # Figure 6: a special character matched verbatim is written percent-encoded.
        (
            "/path/file-with-a-%2A.html",
            "https://www.example.com/path/file-with-a-*.html",
            "/path/file-with-a-b.html",
        ),
        ("/path/foo-%24", "https://www.example.com/path/foo-$", "/path/foo-"),
    ],
)
def test_percent_encoded_special_characters_match_verbatim(pattern: str, uri: str, other: str) -> None:
    text = f"User-agent: *\nDisallow: {pattern}\n"
    assert not allowed(text, uri)
    assert not allowed(text, uri.replace("*", "%2A").replace("$", "%24"))
    assert allowed(text, other)


@pytest.mark.parametrize(
    ("pattern", "blocked", "passed"),
    [
        ("/*.php$", ["/index.php", "/a/b.php"], ["/index.php?x=1", "/index.php5", "/index.phps"]),
        ("/*.php", ["/index.php", "/index.php?x=1", "/a.php5"], ["/index.html"]),
        ("*.gif$", ["/a.gif", "/x/y.gif"], ["/a.gif?x", "/a.giff"]),
        ("/*?", ["/search?q=1", "/?"], ["/search"]),
        ("/a*b*c$", ["/abc", "/a-b-c", "/aXbYbZc"], ["/abcd", "/ab"]),
        ("/private*", ["/private", "/private/x"], ["/privat"]),
        ("/fish$", ["/fish"], ["/fish/", "/fish.html", "/fish$"]),
        ("/a$b", ["/a$b", "/a%24b"], ["/a"]),  # "$" only anchors at the end
    ],
)
def test_wildcard_and_end_anchor(pattern: str, blocked: list[str], passed: list[str]) -> None:
    parsed = robots(f"User-agent: *\nDisallow: {pattern}\n")
    assert [url for url in blocked if parsed.decide(url, "x").allowed] == []
    assert [url for url in passed if not parsed.decide(url, "x").allowed] == []


def test_many_wildcards_on_a_long_path_stay_fast() -> None:
    parsed = robots("User-agent: *\nDisallow: /" + "*a" * 40 + "*b$\n")
    started = time.perf_counter()
    assert parsed.decide("/" + "a" * 20_000, "x").allowed
    assert not parsed.decide("/" + "a" * 20_000 + "b", "x").allowed
    assert time.perf_counter() - started < 1.0


# --- 2.2.4 Other Records --------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    ["Sitemap: https://www.example.com/sitemap.xml", "Crawl-delay: 10", "Host: example.com", "X-Foo: bar"],
)
def test_other_records_are_ignored_and_do_not_end_a_group(record: str) -> None:
    parsed = robots(f"User-agent: a\n{record}\nUser-agent: b\nDisallow: /x\n{record}\nDisallow: /y\n")
    for agent in ("a", "b"):
        assert not parsed.decide("/x", agent).allowed
        assert not parsed.decide("/y", agent).allowed


# --- 2.2 syntax: keys, values, comments, lines, encoding --------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "User-agent: *\nDisallow: /Admin\n",
        "user-agent: *\ndisallow: /Admin\n",
        "USER-AGENT: *\nDISALLOW: /Admin\n",
        "User-Agent : *\n  Disallow\t:\t/Admin  \n",
        "User-agent:*\nDisallow:/Admin\n",
    ],
)
def test_keys_are_case_insensitive_and_values_case_sensitive(text: str) -> None:
    parsed = robots(text)
    assert parsed.decide("/Admin/x", "x") == RobotsDecision(False, "*", "Disallow: /Admin", "rule")
    assert parsed.decide("/admin/x", "x").allowed


def test_comments() -> None:
    text = (
        "# robots.txt for example.com\nUser-agent: * # everyone\n"
        "Disallow: /a#b # not part of the path\n#Disallow: /\n"
    )
    parsed = robots(text)
    assert parsed.decide("/a", "x").rule == "Disallow: /a"
    assert parsed.decide("/b", "x").allowed


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    text = newline.join(["User-agent: a", "Disallow: /a", "", "User-agent: b", "Disallow: /b", ""])
    parsed = robots(text)
    assert parsed.decide("/a", "a").rule == "Disallow: /a"
    assert parsed.decide("/b", "a").allowed
    assert not parsed.decide("/b", "b").allowed


def test_other_unicode_line_breaks_are_not_line_ends() -> None:
    parsed = robots("User-agent: *\nDisallow: /a\u2028b\nDisallow: /c\x85d\n")
    assert parsed.decide("/a", "x").allowed
    assert not parsed.decide("/a%E2%80%A8b", "x").allowed
    assert not parsed.decide("/c%C2%85d", "x").allowed


@pytest.mark.parametrize("mark", [b"\xef\xbb\xbf", b"\xef\xbb", b"\xef"], ids=["full", "EF BB", "EF"])
def test_a_full_or_partial_byte_order_mark_does_not_hide_the_first_group(mark: bytes) -> None:
    body = mark + b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    parsed = RobotsTxt.from_response(200, body)
    assert parsed.decide("/a", "GPTBot") == RobotsDecision(False, "GPTBot", "Disallow: /", "rule")
    assert parsed.opted_out("/a", ["CCBot", "GPTBot"]) == RobotsDecision(
        False, "GPTBot", "Disallow: /", "rule"
    )


def test_a_broken_or_misplaced_byte_order_mark_is_part_of_its_line() -> None:
    # Google's BOM-characters cases: "EF 11 BF" is garbage, and a mark later in the file is no mark.
    for body in (b"\xef\x11\xbfUser-agent: *\nDisallow: /\n", b"User-agent: *\n\xef\xbb\xbfDisallow: /\n"):
        assert RobotsTxt.from_response(200, body).decide("/a", "x").allowed


def test_byte_order_mark_and_invalid_utf8() -> None:
    parsed = RobotsTxt.from_response(200, b"\xef\xbb\xbfUser-agent: *\nDisallow: /caf\xe9\nDisallow: /b\n")
    assert not parsed.decide("/b", "x").allowed
    assert not parsed.decide("/caf%EF%BF%BD", "x").allowed  # the invalid byte became U+FFFD


def test_empty_disallow_allows_everything() -> None:
    parsed = robots(
        "User-agent: *\nDisallow: /\n\nUser-agent: GPTBot\nDisallow:\n\nUser-agent: CCBot\nAllow:\n"
    )
    assert parsed.decide("/a", "GPTBot") == RobotsDecision(True, "GPTBot", None, "no-rule")
    assert parsed.decide("/a", "CCBot").allowed
    assert not parsed.decide("/a", "ClaudeBot").allowed


def test_mistakes_google_accepts_are_rules() -> None:
    # A missing colon and Google's frequent misspellings (accepted-mistakes, robots.cc).
    text = (
        "User-agent: *\nDisallow /a\nDissallow: /b\nDisalow: /c\n"
        "User agent: GPTBot\nuseragent CCBot\nDisallowed: /d\n"
    )
    parsed = robots(text)
    assert [parsed.decide(p, "x").allowed for p in ("/a", "/b", "/c", "/d")] == [False, False, False, True]
    assert parsed.decide("/d", "GPTBot") == RobotsDecision(False, "GPTBot", "Disallow: /d", "rule")
    assert not parsed.decide("/d", "CCBot").allowed


def test_lines_that_are_not_rules_are_ignored() -> None:
    text = "User-agent: *\nDisallow /a b\nNoindex: /c\nforbid: /d\n<br />\nUser-agent\nDisallow: /e\n"
    parsed = robots(text)
    assert [parsed.decide(p, "x").allowed for p in ("/a", "/c", "/d", "/e")] == [True, True, True, False]


def test_a_line_is_read_up_to_google_s_length_limit() -> None:
    # robots_test.cc, GoogleOnly_LineTooLong: a longer line is cut, not dropped.
    long_path = "/x/" + "a" * 16_649
    parsed = robots(f"user-agent: FooBot\ndisallow: {long_path}/qux\n")
    assert parsed.decide("/fux", "FooBot").allowed
    assert not parsed.decide(f"{long_path}/fux", "FooBot").allowed


# --- 2.3.1 Access Results and 2.5 Limits ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, RobotsDecision(True, "*", None, "no-rule")),
        (204, RobotsDecision(True, "*", None, "no-rule")),
        (301, RobotsDecision(True, None, None, "unavailable-3xx")),  # the collector did not follow it
        (302, RobotsDecision(True, None, None, "unavailable-3xx")),
        (400, RobotsDecision(True, None, None, "unavailable-4xx")),
        (401, RobotsDecision(True, None, None, "unavailable-4xx")),
        (403, RobotsDecision(True, None, None, "unavailable-4xx")),
        (404, RobotsDecision(True, None, None, "unavailable-4xx")),
        (410, RobotsDecision(True, None, None, "unavailable-4xx")),
        (429, RobotsDecision(True, None, None, "unavailable-4xx")),
        (500, RobotsDecision(False, None, None, "unreachable-5xx")),
        (503, RobotsDecision(False, None, None, "unreachable-5xx")),
        (599, RobotsDecision(False, None, None, "unreachable-5xx")),
        (None, RobotsDecision(False, None, None, "unreachable")),
        (999, RobotsDecision(False, None, None, "unreachable")),
    ],
)
def test_fetch_results(status: int | None, expected: RobotsDecision) -> None:
    parsed = RobotsTxt.from_response(status, b"User-agent: *\nDisallow: /private/\n")
    assert parsed.decide("https://www.example.com/public/page", "GPTBot") == expected
    assert parsed.opted_out("/public/page", ["GPTBot", "CCBot"]) == (None if expected.allowed else expected)


def test_a_successful_fetch_without_a_body_allows_everything() -> None:
    assert RobotsTxt.from_response(200, None).decide("/a", "x") == RobotsDecision(
        True, None, None, "no-group"
    )


def test_only_the_first_500_kib_are_parsed() -> None:
    head = b"User-agent: *\nDisallow: /head\n"
    edge = b"Disallow: /edge\n"
    padding = b"#" * (PARSE_LIMIT - len(head) - len(edge) - 1) + b"\n"
    body = head + padding + edge + b"Disallow: /after\n"
    assert len(head + padding + edge) == PARSE_LIMIT == 512_000
    parsed = RobotsTxt.from_response(200, body)
    assert not parsed.decide("/head", "x").allowed
    assert not parsed.decide("/edge", "x").allowed  # its line ends on the last byte parsed
    assert parsed.decide("/after", "x").allowed


def test_a_line_cut_by_the_limit_is_dropped_not_shortened() -> None:
    head = b"User-agent: *\nDisallow: /head\n"
    cut = b"Disallow: /"  # what the limit leaves of "Disallow: /private/area"
    padding = b"#" * (PARSE_LIMIT - len(head) - len(cut) - 1) + b"\n"
    parsed = RobotsTxt.from_response(200, head + padding + cut + b"private/area\n")
    assert not parsed.decide("/head", "x").allowed
    assert parsed.decide("/public", "x").allowed


# --- 5 Examples -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "path", "decision"),
    [
        # "*": /publications/ allowed, /example/ and any .gif disallowed ("*" crosses "/").
        ("ExampleBot", "/publications/", (True, "*", "Allow: /publications/")),
        ("ExampleBot", "/example/", (False, "*", "Disallow: /example/")),
        ("ExampleBot", "/example/page.html", (False, "*", "Disallow: /example/")),
        ("ExampleBot", "/images/logo.gif", (False, "*", "Disallow: *.gif$")),
        ("ExampleBot", "/publications/cover.gif", (True, "*", "Allow: /publications/")),  # longer
        ("ExampleBot", "/", (True, "*", None)),
        # foobot: only /example/page.html and /example/allowed.gif.
        ("foobot", "/example/page.html", (True, "foobot", "Allow: /example/page.html")),
        ("foobot", "/example/allowed.gif", (True, "foobot", "Allow: /example/allowed.gif")),
        ("foobot", "/example/other.html", (False, "foobot", "Disallow: /")),
        ("foobot", "/publications/", (False, "foobot", "Disallow: /")),
        # barbot and bazbot: everything but /example/page.html; the "*" rules do not apply.
        ("barbot", "/example/page.html", (False, "barbot", "Disallow: /example/page.html")),
        ("bazbot", "/example/page.html", (False, "bazbot", "Disallow: /example/page.html")),
        ("barbot", "/example/", (True, "barbot", None)),
        ("bazbot", "/images/logo.gif", (True, "bazbot", None)),
        # quxbot: an empty group at the end of the file, unrestricted.
        ("quxbot", "/example/page.html", (True, "quxbot", None)),
    ],
)
def test_simple_example(agent: str, path: str, decision: tuple[bool, str, str | None]) -> None:
    got = robots(RFC_SIMPLE_EXAMPLE).decide(f"https://www.example.com{path}", agent)
    assert (got.allowed, got.agent, got.rule) == decision


def test_longest_match_example() -> None:
    parsed = robots(RFC_LONGEST_MATCH)
    assert parsed.decide("https://example.com/example/page/disallowed.gif", "foobot") == RobotsDecision(
        False, "foobot", "Disallow: /example/page/disallowed.gif", "rule"
    )
    assert parsed.decide("https://example.com/example/page/", "foobot").rule == "Allow: /example/page/"
    # The RFC's prose names ".../disallow.gif", which "/example/page/disallowed.gif" cannot match
    # (it is not a prefix): that URI is decided by the only rule matching it.
    assert (
        parsed.decide("https://example.com/example/page/disallow.gif", "foobot").rule
        == "Allow: /example/page/"
    )


# --- URLs, opt-outs, pickling -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example.com/private/a",
        "http://www.example.com:8080/private/a?x=1",
        "HTTPS://user@www.example.com/private/a#top",
        "/private/a",
        "/private/a;jsessionid=1",
    ],
)
def test_urls_are_evaluated_on_path_and_query(url: str) -> None:
    assert not allowed("User-agent: *\nDisallow: /private/a\n", url)


def test_query_and_root_forms() -> None:
    text = "User-agent: *\nDisallow: /?\nDisallow: /*;jsessionid=\n"
    assert not allowed(text, "https://www.example.com?page=2")
    assert allowed(text, "https://www.example.com")
    assert allowed(text, "https://www.example.com/#?")
    assert not allowed(text, "/cart;jsessionid=ab12")


AI_SITE = """\
User-agent: *
Allow: /

User-agent: GPTBot
Disallow: /

User-agent: CCBot
Disallow: /private/
"""


def test_opted_out_returns_the_first_disallowed_agent_in_order() -> None:
    parsed = robots(AI_SITE)
    agents = ["ClaudeBot", "Google-Extended", "GPTBot", "CCBot"]
    assert parsed.opted_out("/blog/post", agents) == RobotsDecision(False, "GPTBot", "Disallow: /", "rule")
    assert parsed.opted_out("/private/x", ["ClaudeBot", "CCBot", "GPTBot"]) == RobotsDecision(
        False, "CCBot", "Disallow: /private/", "rule"
    )
    assert parsed.opted_out("/blog/post", ["ClaudeBot", "Google-Extended", "CCBot"]) is None
    assert parsed.opted_out("/blog/post", []) is None


def test_opted_out_through_the_star_group() -> None:
    parsed = robots("User-agent: *\nDisallow: /\n\nUser-agent: ClaudeBot\nAllow: /\n")
    assert parsed.opted_out("/a", ["ClaudeBot", "GPTBot", "CCBot"]) == RobotsDecision(
        False, "*", "Disallow: /", "rule"
    )
    assert parsed.opted_out("/a", ("ClaudeBot", "claudebot")) is None


def test_opted_out_is_deciding_each_agent_in_turn() -> None:
    rng = random.Random(9309)
    agents = [
        "GPTBot",
        "CCBot",
        "Google-Extended",
        "ClaudeBot",
        "Bytespider",
        "gptbot",
        "*",
        "Applebot-Extended",
    ]
    paths = ["/", "/a", "/a/b.gif", "/private/x", "/p?q=1", "/search?q=x", "/robots.txt", "/x.php"]
    lines = [
        "Disallow: /",
        "Allow: /a",
        "Disallow: /private/",
        "Disallow: /*.gif$",
        "Allow: /*?",
        "Disallow: /x",
    ]
    for _ in range(200):
        text = "".join(
            f"User-agent: {rng.choice(agents)}\n"
            + "".join(f"{rng.choice(lines)}\n" for _ in range(rng.randint(0, 3)))
            for _ in range(rng.randint(0, 4))
        )
        parsed = robots(text)
        for path in paths:
            order = rng.sample(agents, rng.randint(0, len(agents)))
            expected = next((d for d in (parsed.decide(path, a) for a in order) if not d.allowed), None)
            assert parsed.opted_out(path, order) == expected, (text, path, order)


@pytest.fixture(scope="module")
def ai_agents() -> list[str]:
    with require(AI_ROBOTS).open(encoding="utf-8") as handle:
        return list(json.load(handle))


def test_every_ai_robots_token_is_blocked_by_a_group_listing_them_all(ai_agents: list[str]) -> None:
    # The shape of the ai.robots.txt project's robots.txt: one group naming every crawler.
    text = (
        "".join(f"User-agent: {agent}\n" for agent in ai_agents) + "Disallow: /\n\nUser-agent: *\nAllow: /\n"
    )
    for body in (text.encode(), b"\xef\xbb" + text.encode()):  # with a partial byte-order mark too
        parsed = RobotsTxt.from_response(200, body)
        assert [agent for agent in ai_agents if parsed.opted_out("/a", [agent]) is None] == []
        assert parsed.decide("/a", "Googlebot").allowed and parsed.decide("/a", "bingbot").allowed
        expected = RobotsDecision(False, ai_agents[0], "Disallow: /", "rule")
        assert parsed.opted_out("/a", ai_agents) == parsed.opted_out("/robots.txt", ai_agents) == expected
    # Google's reading names the crawlers whose tokens have digits, dots or words by a shorter
    # token ("AI2Bot" is "AI"): the audit's reading is what keeps their opt-out.
    google_misses = {agent for agent in ai_agents if parsed.decide("/a", agent).allowed}
    assert {"AI2Bot", "bigsur.ai", "Brightbot 1.0"} <= google_misses
    assert "GPTBot" not in google_misses


def test_a_site_blocking_some_ai_crawlers(ai_agents: list[str]) -> None:
    assert {"GPTBot", "CCBot", "Google-Extended", "ClaudeBot"} <= set(ai_agents)
    parsed = robots(AI_SITE)
    first = next(agent for agent in ai_agents if agent in ("GPTBot", "CCBot"))
    expected = "Disallow: /" if first == "GPTBot" else "Disallow: /private/"
    assert parsed.opted_out("/private/x", ai_agents) == RobotsDecision(False, first, expected, "rule")
    assert parsed.opted_out("/public", [a for a in ai_agents if a != "GPTBot"]) is None
    assert parsed.decide("/private/x", "ClaudeBot").allowed


def test_compiled_files_pickle() -> None:
    parsed = robots(RFC_SIMPLE_EXAMPLE)
    copy = pickle.loads(pickle.dumps(parsed))
    for agent in ("ExampleBot", "foobot", "barbot", "quxbot"):
        for path in ("/", "/example/page.html", "/a.gif", "/publications/"):
            assert copy.decide(path, agent) == parsed.decide(path, agent)
    unreachable = pickle.loads(pickle.dumps(RobotsTxt.from_response(503, None)))
    assert unreachable.decide("/", "x").reason == "unreachable-5xx"


# --- where protego 0.7.0 departs from RFC 9309 ------------------------------------------------

_OVERSIZED = "User-agent: *\n" + "#" * PARSE_LIMIT + "\nDisallow: /\n"

PROTEGO_PITFALLS = [  # robots.txt, URL, agent, and the answer of RFC 9309 and Google: allowed?
    pytest.param(
        "User-agent: Applebot\nAllow: /\n\nUser-agent: *\nDisallow: /\n",
        "/a",
        "Applebot-Extended",
        False,
        id="prefix token",
    ),
    pytest.param("User-agent: Claude\nDisallow: /\n", "/a", "ClaudeBot", True, id="prefix token, no star"),
    pytest.param(
        "User-agent: a\nCrawl-delay: 5\nUser-agent: b\nDisallow: /\n",
        "/a",
        "a",
        False,
        id="crawl-delay ends group",
    ),
    pytest.param("User-agent: *\nDisallow: /foo$\n", "/foo$bar", "x", True, id="$ also literal"),
    pytest.param("User-agent: *\nDisallow: /a%3Db\n", "/a=b", "x", True, id="reserved escape decoded"),
    pytest.param("User-agent: *\nDisallow: /a%62\n", "/ab", "x", True, id="unreserved escape decoded"),
    pytest.param(
        "User-agent: *\nDisallow: /foo/bar?baz=https%3A%2F%2Ffoo.bar\n",
        "https://www.example.com/foo/bar?baz=https://foo.bar",
        "x",
        False,
        id="figure 4, row 2",
    ),
    pytest.param("User-agent: *\nDisallow: /\u2028\n", "/a", "x", True, id="U+2028 ends a line"),
    pytest.param("\ufeffUser-agent: *\nDisallow: /\n", "/a", "x", False, id="byte-order mark"),
    pytest.param(_OVERSIZED, "/a", "x", True, id="no parsing limit"),
]


@pytest.mark.parametrize(("text", "url", "agent", "rfc"), PROTEGO_PITFALLS)
def test_protego_pitfalls_are_fixed(text: str, url: str, agent: str, rfc: bool) -> None:
    assert Protego.parse(text).can_fetch(url, agent) is not rfc  # protego 0.7.0 gets it wrong
    assert robots(text).decide(url, agent).allowed is rfc


def test_protego_agrees_where_it_is_right() -> None:
    # Merging, the Allow tie, "/dir/index.html" allowing "/dir/" and the RFC's own examples.
    cases = [
        (RFC_FIGURE_2, "/baz", "ExampleBot"),
        (RFC_FIGURE_3, "/foo", "ExampleBot"),
        ("User-agent: *\nDisallow: /page\nAllow: /page\n", "/page", "x"),
        ("User-agent: *\nDisallow: /foo/bar/ツ\n", "/foo/bar/%E3%83%84", "x"),
        ("User-agent: *\nDisallow: /dir/\nAllow: /dir/index.html\n", "/dir/", "x"),
    ]
    cases += [
        (RFC_SIMPLE_EXAMPLE, p, a) for a in ("x", "foobot", "barbot", "quxbot") for p in ("/", "/a.gif")
    ]
    for text, url, agent in cases:
        assert Protego.parse(text).can_fetch(url, agent) is robots(text).decide(url, agent).allowed


# --- Google's compliance cases -----------------------------------------------------------------


def _google_cases() -> list[pytest.param]:  # type: ignore[valid-type]
    data = json.loads(GOOGLE_CASES.read_text(encoding="utf-8"))
    return [
        pytest.param(entry["robotstxt"], agent, url, expected, id=f"{entry['source']}:{agent}:{url}")
        for entry in data["files"]
        for agent, url, expected in entry["expectations"]
    ]


GOOGLE = _google_cases()


def test_all_of_google_s_compliance_cases_are_there() -> None:
    assert len(GOOGLE) == 400
    assert sum(not case.values[3] for case in GOOGLE) == 196  # disallowed


@pytest.mark.parametrize(("body", "agent", "url", "expected"), GOOGLE)
def test_google_compliance_case(body: str, agent: str, url: str, expected: bool) -> None:
    parsed = RobotsTxt.from_response(200, body.encode("utf-8", "surrogateescape"))
    assert parsed.decide(url, agent).allowed is expected
