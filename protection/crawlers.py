"""The AI-crawler list: which user agents are known AI crawlers (pure; no HTTP, no config).

The list lives in protection/data/ai-crawlers.txt, one robots.txt product token per line with a comment.
Admins extend it with their own tokens or file in the same format. `CrawlerList.match(user_agent)` names the
crawler a User-Agent header belongs to; robots.txt and ai.txt are written from `CrawlerList.names`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_LIST = Path(__file__).parent / "data" / "ai-crawlers.txt"
# RFC 9309 §2.2.1: a product token is letters, "_" and "-"; digits appear in real ones (img2dataset, AI2Bot).
TOKEN = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
# Characters that may be part of a token; a match must not touch one on either side (whole-token match),
# so "GPTBot" matches "compatible; GPTBot/1.2" but "Applebot-Extended" never matches plain "Applebot/0.1".
_WORD = r"A-Za-z0-9_.-"


class CrawlerListError(ValueError):
    """A crawler list line that is not a product token; says which file and line."""


def parse_list(text: str, source: str = "crawler list") -> list[str]:
    """Tokens from the data-file format: "Token  # comment"; blank lines and "#" lines are skipped."""
    names: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        token = line.split("#", 1)[0].strip()
        if not token:
            continue
        if not TOKEN.match(token):
            raise CrawlerListError(f"{source} line {number}: {token!r} is not a user-agent token "
                                   "(letters, digits, '_', '-', '.'; no spaces)")
        names.append(token)
    return names


@dataclass(frozen=True)
class CrawlerList:
    names: tuple[str, ...]
    _by_lower: dict[str, str] = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_lower = {name.lower(): name for name in self.names}
        # Longest first, so "Claude-SearchBot" wins over a shorter token that is also a whole word in it.
        alternatives = sorted(by_lower, key=len, reverse=True)
        pattern = (re.compile(rf"(?<![{_WORD}])({'|'.join(map(re.escape, alternatives))})(?![{_WORD}])",
                              re.IGNORECASE) if alternatives else None)
        object.__setattr__(self, "_by_lower", by_lower)
        object.__setattr__(self, "_pattern", pattern)

    def match(self, user_agent: str | None) -> str | None:
        """The listed crawler this User-Agent header belongs to (its token as listed), or None."""
        if not user_agent or self._pattern is None:
            return None
        found = self._pattern.search(user_agent[:1024])  # headers can be long; tokens come early
        return self._by_lower[found.group(1).lower()] if found else None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_lower

    def __len__(self) -> int:
        return len(self.names)


def load_crawlers(extra: Iterable[str] = (), extra_file: str | Path | None = None,
                  base_file: Path = DEFAULT_LIST) -> CrawlerList:
    """The shipped list plus an admin's tokens and file; duplicates (any case) kept once, first spelling wins.

    Raises CrawlerListError for a bad token and OSError for a file that cannot be read.
    """
    names = parse_list(base_file.read_text(encoding="utf-8"), str(base_file))
    if extra_file:
        names += parse_list(Path(extra_file).read_text(encoding="utf-8"), str(extra_file))
    names += parse_list("\n".join(extra), "[protection] extra_ai_crawlers")
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.lower(), name)
    return CrawlerList(tuple(unique.values()))
