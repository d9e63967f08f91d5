"""The body editor's document as mail: simple inline-styled HTML and its readable plain twin."""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import QUrl
from PySide6.QtGui import (
    QTextBlock,
    QTextCharFormat,
    QTextDocument,
    QTextFormat,
    QTextFragment,
    QTextImageFormat,
    QTextList,
    QTextListFormat,
)

from composer.mail.draft import InlineImage
from composer.ui.body_model import BODY_STYLE, LINE_SEPARATOR, QUOTE_STYLE, is_bullet, quote_level
from composer.ui.document_images import filename_for, image_bytes, is_own, new_cid
from composer.ui.inline_html import escaped_text, styled

LINK_SCHEMES = frozenset({"http", "https", "mailto", "ftp", "tel"})
_ORDERED_TYPES = {
    QTextListFormat.Style.ListLowerAlpha: "a",
    QTextListFormat.Style.ListUpperAlpha: "A",
    QTextListFormat.Style.ListLowerRoman: "i",
    QTextListFormat.Style.ListUpperRoman: "I",
}


@dataclass(frozen=True)
class RichParts:
    """A message body as mail: plain text always; HTML and images only when formatted."""

    plain: str
    html: str
    images: tuple[InlineImage, ...]
    formatted: bool


def document_parts(document: QTextDocument) -> RichParts:
    """Read document (the body editor's) as a plain text, and as HTML when it has formatting."""
    writer = _Writer(document)
    block = document.begin()
    while block.isValid():
        writer.add_block(block)
        block = block.next()
    return writer.finish()


def link_target(char_format: QTextCharFormat) -> str:
    """The href of a link worth sending (http, https, mailto, ftp, tel), else ""."""
    href = char_format.anchorHref() if char_format.isAnchor() else ""
    return href if href and QUrl(href).scheme().lower() in LINK_SCHEMES else ""


@dataclass
class _OpenList:
    """A <ul>/<ol> being written, with its last <li> still open."""

    index: int  # the QTextList's objectIndex
    depth: int
    tag: str
    indent: str  # plain-text indent of its items
    marker: str = ""  # plain-text marker of its open item ("- ", "2. ")


@dataclass
class _Writer:
    document: QTextDocument
    html: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    images: dict[str, InlineImage] = field(default_factory=dict)
    formatted: bool = False
    quote: int = 0
    lists: list[_OpenList] = field(default_factory=list)
    line_start: bool = True
    # True right after a block's text: a line break there would become a space in it.
    inline: bool = False

    def finish(self) -> RichParts:
        self._close_lists()
        self._set_quote(0)
        plain = "\n".join(self.plain)
        if not self.formatted:
            return RichParts(plain, "", (), False)
        body = "".join(self.html)
        page = (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
            f'<body style="{BODY_STYLE}">{body}</body></html>'
        )
        return RichParts(plain, page, tuple(self.images.values()), True)

    def add_block(self, block: QTextBlock) -> None:
        level = quote_level(block.blockFormat())
        if level != self.quote:
            self._close_lists()
            self._set_quote(level)
        # The stubs say QTextList, but a block outside any list has None.
        text_list: QTextList | None = block.textList()
        self.line_start = True
        markup, text = self._inline(block)
        lines = text.split("\n")
        prefix = "> " * level
        if text_list is None:
            self._close_lists()
            self._open("<div>")
            self._content(markup, text)
            self._close("</div>")
            self._add_plain(prefix, lines, prefix)
            return
        self.formatted = True
        marker = self._open_item(text_list, block)
        indent = prefix + self.lists[-1].indent
        self._content(markup, text)
        self._add_plain(indent + marker, lines, indent + " " * len(marker))

    def _add_plain(self, first: str, lines: list[str], rest: str) -> None:
        for number, line in enumerate(lines):
            start = first if number == 0 else rest
            self.plain.append(start + line if line else start.rstrip())

    def _open(self, tag: str) -> None:
        # Source lines break only before opening tags that follow tags: whitespace anywhere
        # else is read as a space at the end of a paragraph (by Qt, for one, on reloading).
        self.html.append(tag if self.inline else f"\n{tag}")
        self.inline = False

    def _close(self, tag: str) -> None:
        self.html.append(tag)
        self.inline = False

    def _content(self, markup: str, text: str) -> None:
        # A browser shows no line for a <br> that ends a paragraph (or for an empty one); Qt
        # shows one for a line break at the end of a block.
        self.html.append(f"{markup}<br>" if not markup or text.endswith("\n") else markup)
        self.inline = True

    def _set_quote(self, level: int) -> None:
        if level:
            self.formatted = True
        while self.quote < level:
            self._open(f'<blockquote style="{QUOTE_STYLE}">')
            self.quote += 1
        while self.quote > level:
            self._close("</blockquote>")
            self.quote -= 1

    def _close_lists(self, depth: int = 0, keep: int = -1) -> None:
        """Close lists deeper than depth, and one at depth unless it is the list keep."""
        while self.lists and (
            self.lists[-1].depth > depth
            or (self.lists[-1].depth == depth and self.lists[-1].index != keep)
        ):
            self._close(f"</li></{self.lists.pop().tag}>")

    def _open_item(self, text_list: QTextList, block: QTextBlock) -> str:
        """Start block's <li>, opening or closing lists around it; returns its plain marker."""
        list_format = text_list.format()
        depth = list_format.indent()
        self._close_lists(depth, text_list.objectIndex())
        style = list_format.style()
        number = text_list.itemNumber(block) + max(list_format.start(), 1)
        if self.lists and self.lists[-1].index == text_list.objectIndex():
            self._close("</li>")
            self._open("<li>")
        else:
            tag = "ul" if is_bullet(style) else "ol"
            attributes = ""
            if style in _ORDERED_TYPES:
                attributes += f' type="{_ORDERED_TYPES[style]}"'
            if tag == "ol" and number != 1:
                attributes += f' start="{number}"'
            parent = self.lists[-1] if self.lists else None
            indent = parent.indent + " " * len(parent.marker) if parent else ""
            self.lists.append(_OpenList(text_list.objectIndex(), depth, tag, indent))
            self._open(f"<{tag}{attributes}>")
            self._open("<li>")
        marker = "- " if is_bullet(style) else f"{text_list.itemText(block)} "
        self.lists[-1].marker = marker
        return marker

    def _inline(self, block: QTextBlock) -> tuple[str, str]:
        """block's contents as HTML and as plain text (lines separated by "\\n")."""
        markup: list[str] = []
        text: list[str] = []
        for href, run in itertools.groupby(
            _fragments(block), lambda f: link_target(f.charFormat())
        ):
            pieces = [self._fragment(fragment) for fragment in run]
            inner_markup = "".join(piece[0] for piece in pieces)
            inner_text = "".join(piece[1] for piece in pieces)
            if not href:
                markup.append(inner_markup)
                text.append(inner_text)
                continue
            self.formatted = True
            markup.append(f'<a href="{html.escape(href)}">{inner_markup}</a>')
            text.append(_plain_link(inner_text, href))
        return "".join(markup), "".join(text)

    def _fragment(self, fragment: QTextFragment) -> tuple[str, str]:
        char_format = fragment.charFormat()
        if char_format.isImageFormat():
            pieces = [self._image(char_format.toImageFormat()) for _ in fragment.text()]
            self.line_start = False
            return "".join(p[0] for p in pieces), "".join(p[1] for p in pieces)
        text = fragment.text()
        lines = []
        for number, line in enumerate(text.split(LINE_SEPARATOR)):
            if number:
                self.line_start = True
            lines.append(escaped_text(line, self.line_start))
            self.line_start = self.line_start and not line
        markup = "<br>".join(lines)
        plain = text.replace(LINE_SEPARATOR, "\n").replace("\u00a0", " ")
        wrapped = styled(markup, char_format, self.document)
        if wrapped != markup:
            self.formatted = True
        return wrapped, plain

    def _image(self, image_format: QTextImageFormat) -> tuple[str, str]:
        name = image_format.name()
        alt = str(image_format.property(QTextFormat.Property.ImageAltText) or "")
        size = ""
        if image_format.width() > 0:
            size += f' width="{round(image_format.width())}"'
        if image_format.height() > 0:
            size += f' height="{round(image_format.height())}"'
        if QUrl(name).scheme().lower() in ("http", "https"):
            source = name  # not ours to embed; the recipient's client may fetch it
        else:
            image = self.images.get(name) or self._load(name, alt)
            if image is None:
                return "", ""
            self.images[name] = image
            source = f"cid:{image.cid}"
            alt = alt or image.filename
        self.formatted = True
        tag = f'<img src="{html.escape(source)}" alt="{html.escape(alt)}"{size}>'
        return tag, f"[image: {alt or name}]"

    def _load(self, name: str, alt: str) -> InlineImage | None:
        loaded = image_bytes(self.document, name)
        if loaded is None:
            return None
        data, content_type = loaded
        cid = name.removeprefix("cid:") if is_own(name) else new_cid()
        return InlineImage(cid, data, content_type, filename_for(name, alt, content_type))


def _fragments(block: QTextBlock) -> Iterator[QTextFragment]:
    iterator = block.begin()
    while not iterator.atEnd():
        fragment = iterator.fragment()
        if fragment.isValid():
            yield fragment
        iterator += 1


def _plain_link(text: str, href: str) -> str:
    """A link as plain text: "text <url>", or just the url when the text says it already."""
    if text.strip() in (href, href.rstrip("/"), href.removeprefix("mailto:")):
        return text
    return f"{text} <{href}>" if text.strip() else href
