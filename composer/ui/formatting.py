"""Formatting commands on the body editor's text: lists, quote levels, clearing; imported HTML.

The document model that rich_text reads: a block's ``indent`` is its quote level; a list's
``QTextListFormat.indent`` is its nesting depth (1 for a top-level list).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from PySide6.QtGui import (
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextList,
    QTextListFormat,
)

from composer.ui.body_model import (
    BODY_STYLE,
    LINE_SEPARATOR,
    QT_BLOCKQUOTE_MARGIN,
    QUOTE_STYLE,
    is_bullet,
    quote_level,
)

_Style = QTextListFormat.Style
_BULLET_BY_DEPTH = (_Style.ListDisc, _Style.ListCircle, _Style.ListSquare)


def selected_blocks(cursor: QTextCursor) -> list[QTextBlock]:
    """The blocks a command applies to; a selection ending at a block's start leaves it out."""
    document = cursor.document()
    first = document.findBlock(cursor.selectionStart())
    last = document.findBlock(cursor.selectionEnd())
    if cursor.hasSelection() and last != first and last.position() == cursor.selectionEnd():
        last = last.previous()
    blocks = [first]
    while blocks[-1] != last and blocks[-1].next().isValid():
        blocks.append(blocks[-1].next())
    return blocks


def list_style(style: _Style, depth: int) -> _Style:
    """style as shown at nesting depth: bullets change shape per level, numbers stay."""
    if not is_bullet(style):
        return style
    return _BULLET_BY_DEPTH[min(depth, len(_BULLET_BY_DEPTH)) - 1]


def toggle_list(cursor: QTextCursor, style: _Style) -> None:
    """Make the selected blocks a list of style's kind, or plain paragraphs if they are one."""
    blocks = selected_blocks(cursor)
    lists: list[QTextList | None] = [block.textList() for block in blocks]
    cursor.beginEditBlock()
    if all(item and is_bullet(item.format().style()) == is_bullet(style) for item in lists):
        for block in blocks:
            remove_from_list(block)
    elif (first := lists[0]) is not None and all(item == first for item in lists):
        list_format = first.format()
        list_format.setStyle(list_style(style, list_format.indent()))
        first.setFormat(list_format)
    else:
        depth = first.format().indent() if first else 1
        list_format = QTextListFormat()
        list_format.setStyle(list_style(style, depth))
        list_format.setIndent(depth)
        created = QTextCursor(blocks[0]).createList(list_format)
        for block in blocks[1:]:
            created.add(block)
    cursor.endEditBlock()


def remove_from_list(block: QTextBlock) -> None:
    """Make block a paragraph again, at the quote level it had."""
    text_list: QTextList | None = block.textList()
    if text_list is None:
        return
    block_format = block.blockFormat()
    # QTextList.remove adds the list's indent to the block's, which here would quote it.
    text_list.remove(block)
    block_format.setObjectIndex(-1)
    QTextCursor(block).setBlockFormat(block_format)


def change_indent(cursor: QTextCursor, step: int) -> None:
    """Indent (step 1) or outdent (-1): list items change nesting, other blocks quote level."""
    cursor.beginEditBlock()
    for block in selected_blocks(cursor):
        text_list: QTextList | None = block.textList()
        if text_list is None:
            set_quote_level(block, max(0, quote_level(block.blockFormat()) + step))
        else:
            _move_to_depth(block, text_list, text_list.format().indent() + step)
    cursor.endEditBlock()


def set_quote_level(block: QTextBlock, level: int) -> None:
    """Quote block level deep (0: not quoted), replacing any <blockquote> margins from HTML."""
    block_format = block.blockFormat()
    if block_format.hasProperty(QTextFormat.Property.BlockQuoteLevel):
        block_format.clearProperty(QTextFormat.Property.BlockQuoteLevel)
        block_format.setLeftMargin(0)
        block_format.setRightMargin(0)
    block_format.setIndent(level)
    QTextCursor(block).setBlockFormat(block_format)


def normalize_imported(document: QTextDocument) -> None:
    """Make HTML that Qt imported (a draft, a paste) read as rich_text wrote or a browser shows.

    Qt marks only the first block of a <blockquote> and gives it margins; here every quoted
    block gets its quote level. A browser shows no line for a <br> that ends a paragraph;
    Qt does, so that one is removed.
    """
    own = _own_quote_margin(document)
    in_quote = False
    block = document.begin()
    while block.isValid():
        block_format = block.blockFormat()
        margin = block_format.leftMargin()
        in_quote = block_format.hasProperty(QTextFormat.Property.BlockQuoteLevel) or (
            in_quote and margin > 0
        )
        if in_quote:
            block_format.clearProperty(QTextFormat.Property.BlockQuoteLevel)
            block_format.setLeftMargin(0)
            block_format.setRightMargin(0)
            block_format.setIndent(block_format.indent() + _quote_depth(margin, own))
            QTextCursor(block).setBlockFormat(block_format)
        if block.text().endswith(LINE_SEPARATOR):
            cursor = QTextCursor(block)
            cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
            cursor.deletePreviousChar()
        block = block.next()


def _quote_depth(margin: float, own: float) -> int:
    """How many <blockquote>s deep a margin is: ours (own each) or Qt's plain ones."""
    levels = margin / own if own > 0 else 0
    if margin % QT_BLOCKQUOTE_MARGIN and round(levels) >= 1 and abs(levels - round(levels)) < 0.05:
        return round(levels)
    return max(1, round(margin / QT_BLOCKQUOTE_MARGIN))


def _own_quote_margin(document: QTextDocument) -> float:
    """The margin Qt gives one of the <blockquote>s that rich_text writes."""
    probe = QTextDocument()
    probe.setDefaultFont(document.defaultFont())
    probe.setHtml(f'<body style="{BODY_STYLE}"><blockquote style="{QUOTE_STYLE}">x</blockquote>')
    return probe.begin().blockFormat().leftMargin()


def _move_to_depth(block: QTextBlock, text_list: QTextList, depth: int) -> None:
    if depth < 1:
        remove_from_list(block)
        return
    target = _list_above(block, depth)
    if target is None:
        list_format = text_list.format()
        list_format.setIndent(depth)
        list_format.setStyle(list_style(list_format.style(), depth))
        target = QTextCursor(block).createList(list_format)
    else:
        target.add(block)


def _list_above(block: QTextBlock, depth: int) -> QTextList | None:
    """The list at depth that block would continue: found above it, within its list items."""
    previous = block.previous()
    while previous.isValid():
        above: QTextList | None = previous.textList()
        if above is None or above.format().indent() < depth:
            return None
        if above.format().indent() == depth:
            return above
        previous = previous.previous()
    return None


def selected_runs(cursor: QTextCursor) -> Iterator[tuple[int, int, QTextCharFormat]]:
    """Start, end and format of each run of same-formatted text in cursor's selection."""
    start, end = cursor.selectionStart(), cursor.selectionEnd()
    block = cursor.document().findBlock(start)
    while block.isValid() and block.position() <= end:
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            first = max(start, fragment.position())
            after = min(end, fragment.position() + fragment.length())
            if first < after:
                yield first, after, fragment.charFormat()
            iterator += 1
        block = block.next()


def replace_formats(
    cursor: QTextCursor, change: Callable[[QTextCharFormat], QTextCharFormat]
) -> None:
    """Set each text fragment in cursor's selection to change(its format); images are kept."""
    # Collected first: setting formats merges fragments under a running iterator.
    spans = [
        (first, after, change(char_format))
        for first, after, char_format in selected_runs(cursor)
        if not char_format.isImageFormat()
    ]
    editing = QTextCursor(cursor.document())
    for first, after, char_format in spans:
        editing.setPosition(first)
        editing.setPosition(after, QTextCursor.MoveMode.KeepAnchor)
        editing.setCharFormat(char_format)


def clear_formatting(cursor: QTextCursor) -> None:
    """Make the selected text plain (images stay) and its blocks unquoted paragraphs."""
    cursor.beginEditBlock()
    for block in selected_blocks(cursor):
        remove_from_list(block)
        set_quote_level(block, 0)
        QTextCursor(block).setBlockCharFormat(QTextCharFormat())
    replace_formats(cursor, lambda _format: QTextCharFormat())
    cursor.endEditBlock()
