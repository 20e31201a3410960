"""The card memo (web/card_memo.py) stays within its bound, dropping the least recently shown card first, and
renders a card exactly as the template's macro does, hit or miss. Real Jinja2 environment, real card rows."""

from __future__ import annotations

from cara_fed.queries_cards import CardAuthor, CardWork
from web.card_memo import CardMemo
from web.render import make_environment


def card_work(work_id: int, title: str) -> CardWork:
    author = CardAuthor(7, "ada", None, "Ada L.", None)
    row = (work_id, 7, title, "published", "public", False, "", None, True, None)
    return CardWork(*row, account=author, fingerprint=(row, 0, ()))


def test_the_memo_keeps_its_bound_and_drops_the_least_recently_shown_card() -> None:
    env = make_environment("")
    memo = CardMemo(env, max_cards=2)
    macro = env.get_template("_macros.html").module.card  # type: ignore[attr-defined]
    first, second, third = card_work(1, "Heron"), card_work(2, "Crane"), card_work(3, "Stork")

    shown = memo.card(first)
    assert shown == macro(first, True, False) and 'href="/@ada/1"' in shown and "Heron" in shown and "Ada L." in shown
    memo.card(second)
    assert memo.card(card_work(1, "Heron")) == shown  # equal rows: a hit, and `first` is now the most recent
    assert (memo.hits, memo.misses, len(memo)) == (1, 2, 2)

    memo.card(third)  # over the bound: `second`, the least recently shown, goes
    assert len(memo) == 2
    memo.card(first)
    assert (memo.hits, memo.misses) == (2, 3)
    memo.card(second)
    assert (memo.hits, memo.misses) == (2, 4)

    renamed = card_work(1, "Heron at dusk")  # other rows: another card, never the kept one
    assert "Heron at dusk" in memo.card(renamed) and memo.misses == 5
