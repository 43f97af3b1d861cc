"""A comment's text: finding ``@username`` mentions and showing the body as safe HTML.

Bodies are plain text. Shown, they are escaped, line breaks kept, web addresses and e-mail
addresses linked (Django's ``urlize``: ``rel="nofollow"``, only http(s)/mailto links, escaped), and
the stored mentions highlighted. Nothing the author types becomes markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.html import escape, urlize
from django.utils.safestring import SafeString, mark_safe

# ``@`` + a Django username (letters, digits, ``. + - _``), not inside a word, an address or a path.
MENTION_RE = re.compile(r"(?<![\w@/.:+-])@([\w.+-]{1,150})")
MAX_MENTIONS = 20


def mentioned_usernames(body: str) -> list[str]:
    """The usernames written as ``@name`` in ``body``, in order, each once (a trailing dot is prose)."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(body):
        name = match.group(1).rstrip(".")
        if name:
            seen.setdefault(name, None)
    return list(seen)


def _text_html(text: str) -> str:
    return urlize(text, nofollow=True, autoescape=True).replace("\n", "<br>")


def render_body(body: str, mentioned: Iterable[str] = ()) -> SafeString:
    """``body`` as HTML: escaped, linked, line breaks kept, stored mentions highlighted."""
    names = set(mentioned)
    parts: list[str] = []
    last = 0
    for match in MENTION_RE.finditer(body):
        name = match.group(1).rstrip(".")
        if name not in names:
            continue
        end = match.start(1) + len(name)
        parts.append(_text_html(body[last : match.start()]))
        parts.append(f'<span class="mention">@{escape(name)}</span>')
        last = end
    parts.append(_text_html(body[last:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above
