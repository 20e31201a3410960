"""The @mention linker (cara_fed/text.py) and the sanitizer's treatment of Mastodon's mention markup."""

from __future__ import annotations

from cara_fed.text import find_mentions, link_mentions, render_markdown, sanitize_html

OWN = "test.example"
URLS = {"ada@test.example": "https://test.example/@ada", "bo@else.example": "https://else.example/@bo"}


def card(name: str, url: str) -> str:
    return f'<span class="h-card"><a href="{url}" class="u-url mention">@<span>{name}</span></a></span>'


def linked(source: str) -> str:
    return link_mentions(render_markdown(source), URLS, OWN)


def test_local_and_remote_handles_become_mastodon_mention_links():
    html = linked("Made with @ada and @bo@else.example, also @ada@test.example.")
    assert html == (f"<p>Made with {card('ada', URLS['ada@test.example'])} and "
                    f"{card('bo', URLS['bo@else.example'])}, also {card('ada', URLS['ada@test.example'])}.</p>\n")


def test_trailing_punctuation_stays_outside_the_link():
    for after in (".", ",", "!", ")", ":", "?"):
        assert linked(f"thanks @ada{after}") == f"<p>thanks {card('ada', URLS['ada@test.example'])}{after}</p>\n"
    assert linked("(@bo@else.example).") == f"<p>({card('bo', URLS['bo@else.example'])}).</p>\n"


def test_unknown_people_and_email_addresses_stay_plain_text():
    assert linked("hi @nobody and @nobody@else.example") == "<p>hi @nobody and @nobody@else.example</p>\n"
    # An e-mail address is no mention, even when its local part is a known name.
    assert linked("write to ada@test.example or bo.x@else.example") == \
        "<p>write to ada@test.example or bo.x@else.example</p>\n"
    # @bo alone is a local name: the remote bo is only meant when the domain is written.
    assert linked("@bo") == "<p>@bo</p>\n"
    assert "mention" not in linked("@ada@localhost")  # a host we cannot tell apart: not a mention of ada


def test_never_inside_links_code_or_pre():
    html = linked("[ask @ada](https://x.example/@ada) `@ada` and\n\n    @ada in a block\n\nthen @ada")
    assert html.count('class="u-url mention"') == 1
    assert '<a href="https://x.example/@ada" rel="nofollow noopener ugc">ask @ada</a>' in html
    assert "<code>@ada</code>" in html and "<pre><code>@ada in a block" in html


def test_find_mentions_reads_only_text_and_keys_local_names_by_our_domain():
    html = render_markdown("@Ada, @bo@Else.Example, [x](https://x.example/@ada) me@ada.example @ada")
    assert find_mentions(html, OWN) == ["ada@test.example", "bo@else.example"]


def test_hrefs_from_remote_documents_are_escaped():
    html = link_mentions("<p>@bo@else.example</p>", {"bo@else.example": 'https://else.example/@bo"onmouseover=x'},
                         OWN)
    assert '"onmouseover' not in html and "&quot;onmouseover=x" in html


def test_remote_mention_markup_survives_sanitation_but_not_its_dangers():
    remote = ('<p><span class="h-card" translate="no"><a href="https://m.example/@cy" class="u-url mention evil" '
              'onclick="x()">@<span>cy</span></a></span> <a href="javascript:alert(1)" class="u-url mention">'
              '@<span>z</span></a> <a href="https://m.example/tags/ink" class="mention hashtag" rel="tag">'
              '#<span>ink</span></a> <span class="invisible">x</span></p>')
    clean = sanitize_html(remote)
    assert card("cy", "https://m.example/@cy").replace('mention">', 'mention" rel="nofollow noopener ugc">') in clean
    assert "javascript" not in clean and "onclick" not in clean and "evil" not in clean
    assert '<a class="u-url mention" rel="nofollow noopener ugc">@<span>z</span></a>' in clean  # href dropped
    assert 'class="mention hashtag"' in clean and "invisible" not in clean  # other classes are dropped
