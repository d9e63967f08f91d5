"""Images taken from files on this computer (named by pasted HTML, or dropped): read off the
GUI thread.

A paste or a drop puts a placeholder where each such image goes; a worker reads the files
(regular files up to MAX_IMAGE_BYTES only, see mail/linked_files.py); back on the GUI thread
each placeholder becomes its picture, or is removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextCursor, QTextDocument, QTextFormat, QTextImageFormat

from composer.mail.linked_files import LinkedFile, linked_images_note, read_linked_file
from composer.ui.document_images import add_image, decode, new_cid, placeholder

_IMAGE = QTextDocument.ResourceType.ImageResource
_NOT_A_PICTURE = "is not a picture Composer can show"


@dataclass(frozen=True)
class LinkedImage:
    """A placeholder in the body (its image name, ``cid:…``) waiting for the file at path."""

    name: str
    path: Path
    alt: str = ""


@dataclass(frozen=True)
class ReadImage:
    """What the worker made of one LinkedImage: the file and, if it is one, its picture."""

    linked: LinkedImage
    file: LinkedFile
    picture: QImage | None


@dataclass(frozen=True)
class Placed:
    """What place_images did: the files now shown, and those whose placeholder went."""

    shown: list[LinkedFile]
    left_out: list[LinkedFile]

    def note(self) -> str:
        """The status bar's sentence on them, for a paste."""
        return linked_images_note(self.shown, self.left_out)


def placeholder_for(document: QTextDocument, path: Path, alt: str = "") -> LinkedImage:
    """A new image name in document showing the placeholder until the file at path is read."""
    image = LinkedImage(f"cid:{new_cid()}", path, alt)
    document.addResource(_IMAGE, QUrl(image.name), placeholder())
    return image


def placeholder_format(image: LinkedImage) -> QTextImageFormat:
    """The format that shows image's placeholder, and later its picture."""
    image_format = QTextImageFormat()
    image_format.setName(image.name)
    image_format.setProperty(QTextFormat.Property.ImageAltText, image.alt or image.path.name)
    return image_format


def read_images(linked: list[LinkedImage]) -> list[ReadImage]:
    """Read and decode each linked file (on a worker thread: QImage, never QPixmap)."""
    results = []
    for image in linked:
        file = read_linked_file(image.path)
        picture = decode(file.data) if file.data is not None else None
        if picture is not None and picture.isNull():
            file, picture = LinkedFile(image.path, problem=_NOT_A_PICTURE), None
        results.append(ReadImage(image, file, picture))
    return results


def place_images(document: QTextDocument, results: list[ReadImage]) -> Placed:
    """Put each picture read where its placeholder is, and remove the others."""
    shown: list[LinkedFile] = []
    left_out: list[LinkedFile] = []
    for result in results:
        name = result.linked.name
        if result.picture is None or result.file.data is None:
            _replace(document, name, None)
            left_out.append(result.file)
            continue
        alt = result.linked.alt or result.file.path.name
        image_format = add_image(
            document, result.picture, alt, result.file.data, name.removeprefix("cid:")
        )
        _replace(document, name, image_format)
        shown.append(result.file)
    return Placed(shown, left_out)


def _replace(document: QTextDocument, name: str, shown: QTextImageFormat | None) -> None:
    """Remove the images called name (shown None), or show them as shown (its size)."""
    cursor = QTextCursor(document)
    # Part of the paste's (or drop's) own undo step when nothing was typed since.
    cursor.joinPreviousEditBlock()
    for start, length, image_format in reversed(_occurrences(document, name)):
        cursor.setPosition(start)
        cursor.setPosition(start + length, QTextCursor.MoveMode.KeepAnchor)
        if shown is None:
            cursor.removeSelectedText()
        elif shown.width() > 0:
            image_format.setWidth(shown.width())
            image_format.setHeight(shown.height())
            cursor.setCharFormat(image_format)  # a link around the image stays
        else:
            document.markContentsDirty(start, length)
    cursor.endEditBlock()


def _occurrences(document: QTextDocument, name: str) -> list[tuple[int, int, QTextImageFormat]]:
    found = []
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            char_format = fragment.charFormat()
            if char_format.isImageFormat() and char_format.toImageFormat().name() == name:
                found.append((fragment.position(), fragment.length(), char_format.toImageFormat()))
            iterator += 1
        block = block.next()
    return found
