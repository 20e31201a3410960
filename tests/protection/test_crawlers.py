"""The AI-crawler list: the shipped data file, admins' additions, and user-agent matching."""

from __future__ import annotations

import pytest

from protection.crawlers import DEFAULT_LIST, CrawlerListError, load_crawlers, parse_list

REQUIRED = ["GPTBot", "ChatGPT-User", "OAI-SearchBot", "CCBot", "Google-Extended", "anthropic-ai", "ClaudeBot",
            "Claude-Web", "Bytespider", "PerplexityBot", "Applebot-Extended", "meta-externalagent", "FacebookBot",
            "Amazonbot", "cohere-ai", "Diffbot", "img2dataset", "Omgilibot", "YouBot", "Timpibot", "ImagesiftBot"]

# Real User-Agent headers as the operators document them.
REAL_AGENTS = {
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)":
        "GPTBot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot":
        "ChatGPT-User",
    "CCBot/2.0 (https://commoncrawl.org/faq/)": "CCBot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)":
        "ClaudeBot",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; "
    "Bytespider; spider-feedback@bytedance.com)": "Bytespider",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; "
    "+https://perplexity.ai/perplexitybot)": "PerplexityBot",
    "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)": "meta-externalagent",
    "Mozilla/5.0 (compatible; img2dataset; +https://github.com/rom1504/img2dataset)": "img2dataset",
    "Mozilla/5.0 (compatible; ImagesiftBot; +imagesift.com)": "ImagesiftBot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Amazonbot/0.1; "
    "+https://developer.amazon.com/support/amazonbot) Chrome/119.0.6045.214 Safari/537.36": "Amazonbot",
}
NOT_AI = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 "
    "Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",  # Apple's search crawler, not -Extended
    "Mastodon/4.3.0 (http.rb/5.2.0; +https://mastodon.example/)",
    "NotGPTBotX/1.0",
    "",
]


def test_the_shipped_list_has_the_known_crawlers_once_each() -> None:
    names = parse_list(DEFAULT_LIST.read_text(encoding="utf-8"))
    assert set(REQUIRED) <= set(names)
    assert len({n.lower() for n in names}) == len(names), "duplicate token in ai-crawlers.txt"
    assert "Googlebot" not in names and "Applebot" not in names  # search stays allowed
    for line in DEFAULT_LIST.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            assert "#" in line and line.split("#", 1)[1].strip(), f"every entry says who and why: {line!r}"


@pytest.mark.parametrize("agent, name", REAL_AGENTS.items())
def test_real_user_agents_match_their_crawler(agent: str, name: str) -> None:
    assert load_crawlers().match(agent) == name
    assert load_crawlers().match(agent.upper()) == name  # case-insensitive


@pytest.mark.parametrize("agent", NOT_AI)
def test_browsers_search_engines_and_fediverse_servers_are_not_ai_crawlers(agent: str) -> None:
    assert load_crawlers().match(agent) is None


def test_admin_additions_from_settings_and_a_file(tmp_path) -> None:
    extra = tmp_path / "ours.txt"
    extra.write_text("# found in our logs\nPaintSuckerBot  # scrapes portfolios\n\ngptbot  # duplicate, any case\n")
    crawlers = load_crawlers(["ScraperOne", "GPTBot"], extra)
    assert crawlers.match("PaintSuckerBot/3.1 (+https://bad.example)") == "PaintSuckerBot"
    assert crawlers.match("scraperone") == "ScraperOne"
    assert [n.lower() for n in crawlers.names].count("gptbot") == 1 and crawlers.names[0] != "gptbot"
    assert "paintsuckerbot" in crawlers and len(crawlers) == len(load_crawlers()) + 2


@pytest.mark.parametrize("bad", ["Two Words", "semi;colon", "x"])
def test_a_bad_token_names_the_file_and_line(bad: str) -> None:
    with pytest.raises(CrawlerListError, match=r"extra_ai_crawlers line 1"):
        load_crawlers([bad])
