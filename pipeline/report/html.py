"""A Markdown report as one self-contained HTML page: the same text, tables styled, figures inlined.

The Markdown is the single source; rendering it here (markdown-it, CommonMark plus tables) keeps
the two formats from drifting apart. Each ``![title](plots/name.svg)`` becomes the SVG itself, so
the page opens from a mail attachment or an archive without its folder and fetches nothing.

Values from the corpus (doc ids, languages, licences, reasons) reach the Markdown as text, and no
text may become markup: raw HTML is not rendered (it shows as text), links keep markdown-it's
scheme check (no ``javascript:``), an image is inlined only when it names one of the run's own
figures under ``plots/``, and every page carries a Content-Security-Policy that allows no script,
no request and no frame, so even markup that slipped through could not run or fetch.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)  # XML declaration, DOCTYPE (names a DTD URL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)  # RDF with dublin-core URLs
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_FIGURE = re.compile(r"plots/[A-Za-z0-9_.\-]+\.svg")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
"""The policy of every HTML report: inline styles and data images only; no script, fetch, form or frame."""
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #f2f2f2; }
code { background: #f5f5f5; padding: 0 0.2rem; }
blockquote { border-left: 4px solid #e0a800; background: #fff8e1; margin: 0.6rem 0; padding: 0.3rem 0.8rem; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #555; }
"""


def inline_svg(path: Path, title: str) -> str:
    """The SVG file as an element for an HTML page, titled, without its prolog and metadata."""
    text = _METADATA.sub("", _PROLOG.sub("", path.read_text(encoding="utf-8"), count=1))
    opening = _SVG_OPEN.search(text)
    if opening is None:
        raise ValueError(f"{path}: not an SVG file")
    label = html.escape(title)
    return (
        text[: opening.start()]
        + opening.group(0)[:-1]
        + f' role="img" aria-label="{label}"><title>{label}</title>'
        + text[opening.end() :]
    ).strip()


def _renderer(folder: Path) -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")

    def image(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[idx]
        source = str(token.attrGet("src") or "")
        title = self.renderInlineAsText(token.children or [], options, env)
        if not (_FIGURE.fullmatch(source) and (folder / source).is_file()):
            return html.escape(f"[image {title}: {source}]")  # not one of the run's figures: text
        caption = html.escape(title)
        return f"<figure>{inline_svg(folder / source, title)}<figcaption>{caption}</figcaption></figure>"

    parser.add_render_rule("image", image)
    return parser


def markdown_page(markdown: str, folder: Path, title: str) -> str:
    """The HTML page for ``markdown``, whose figure paths are relative to ``folder``."""
    body = _renderer(folder).render(markdown)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n{CSP_META}\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style></head>\n<body>\n{body}</body></html>\n"
    )
