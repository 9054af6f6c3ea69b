"""The guide for coordinators and admins: bot/data/guide_<lang>.md, kept in the repository and
shown in the bot (/guide, and a button under /help), a section per message.

The files are plain Markdown of a small kind: `# title`, `## section`, paragraphs, `- ` items,
`1. ` steps and `**bold**`. Each section becomes Telegram HTML within one message.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

MESSAGE_LIMIT = 4096


@dataclass(frozen=True)
class Guide:
    title: str
    sections: tuple[tuple[str, str], ...]  # (heading, body as Telegram HTML)

    def section(self, index: int) -> tuple[str, str] | None:
        return self.sections[index] if 0 <= index < len(self.sections) else None


def _inline(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text, quote=False))


def parse(markdown: str) -> Guide:
    title = ""
    sections: list[tuple[str, list[str]]] = []
    for raw in markdown.splitlines():
        line = raw.rstrip()
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif line.startswith("# "):
            title = line[2:].strip()
        elif sections:
            item = line.startswith("- ")
            sections[-1][1].append(f"• {_inline(line[2:])}" if item else _inline(line))
    built = tuple((heading, "\n".join(lines).strip()) for heading, lines in sections)
    for heading, body in built:
        if len(heading) + len(body) + 10 > MESSAGE_LIMIT:
            raise ValueError(f"guide section too long for one message: {heading}")
    return Guide(title=title, sections=built)


@cache
def guide(lang: str) -> Guide:
    name = f"guide_{'en' if lang == 'en' else 'ru'}.md"
    return parse(resources.files("bot.data").joinpath(name).read_text(encoding="utf-8"))
