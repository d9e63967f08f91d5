"""Images inside the body editor's document: how they are stored, and their bytes for sending."""

from __future__ import annotations

import base64
import functools
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QUrl
from PySide6.QtGui import (
    QColor,
    QImage,
    QImageReader,
    QPixmap,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtGui import QTextImageFormat as ImageFormat

from composer.mail.linked_files import local_path

# Wider images are shown, and sent, scaled down to this width (CSS pixels).
DISPLAY_WIDTH = 640
# Images are decoded for display at no more than this width, so a 50-megapixel photo does not
# cost a gigabyte; the file's own bytes are what is sent.
_DECODE_WIDTH = 2 * DISPLAY_WIDTH
_IMAGE = QTextDocument.ResourceType.ImageResource
_OWN_SUFFIX = "@composer"
_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}


def sniff(data: bytes) -> str:
    """The MIME type of image data that mail clients show as is (PNG, JPEG, GIF), else ""."""
    return next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), "")


def new_cid() -> str:
    """A fresh Content-ID (without angle brackets) for an inline image."""
    import uuid  # here: its platform module is not needed to open a window

    return f"{uuid.uuid4().hex}{_OWN_SUFFIX}"


def add_image(
    document: QTextDocument, image: QImage, filename: str, data: bytes = b"", cid: str = ""
) -> ImageFormat:
    """Store image in document under ``cid:<cid>``; data (PNG, JPEG, GIF) is what will be sent.

    Without such data, the image is sent as PNG.

    Returns the format to insert (with QTextCursor.insertImage) wherever the image should show.
    """
    name = f"cid:{cid or new_cid()}"
    # A pixmap, because the layout converts any other resource to one on every paint.
    document.addResource(_IMAGE, QUrl(name), QPixmap.fromImage(image))
    # Encoded once here rather than each time the message is read (a pasted screenshot can
    # take a tenth of a second). Resources are keyed by URL alone: the fragment keeps the
    # bytes apart from the picture.
    sent = data if sniff(data) else png_bytes(image)
    document.addResource(_IMAGE, QUrl(f"{name}#original"), QByteArray(sent))
    image_format = ImageFormat()
    image_format.setName(name)
    image_format.setProperty(QTextFormat.Property.ImageAltText, filename)
    if image.width() > DISPLAY_WIDTH:
        image_format.setWidth(DISPLAY_WIDTH)
        image_format.setHeight(round(image.height() * DISPLAY_WIDTH / image.width()))
    return image_format


def insert_image(cursor: QTextCursor, image: QImage, filename: str, data: bytes = b"") -> None:
    """Insert image at cursor, as add_image stores it."""
    cursor.insertImage(add_image(cursor.document(), image, filename, data))


def decode(data: bytes) -> QImage:
    """data as an image for display, scaled down when very large; null if it is no image."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    from PySide6.QtCore import Qt  # here: not before the first frame (see qt_values.py)

    size = reader.size()
    if size.isValid() and size.width() > _DECODE_WIDTH:
        reader.setScaledSize(
            size.scaled(_DECODE_WIDTH, 1 << 30, Qt.AspectRatioMode.KeepAspectRatio)
        )
    return reader.read()


def is_image_file(path: Path) -> bool:
    """True when path is a regular file named as an image Qt can read.

    By its name only: the file itself is read later, off the GUI thread (linked_images.py).
    """
    suffix = path.suffix.lower().removeprefix(".")
    return bool(suffix) and suffix in _readable_suffixes() and path.is_file()


@functools.cache
def _readable_suffixes() -> frozenset[str]:
    return frozenset(bytes(kind.data()).decode() for kind in QImageReader.supportedImageFormats())


def image_bytes(document: QTextDocument, name: str) -> tuple[bytes, str] | None:
    """The bytes to send for the image called name and their MIME type; None if unavailable.

    PNG, JPEG and GIF data are kept as they are; any other picture is encoded as PNG. An image
    that names a file is None: asking the document for it would have Qt read the file (on the
    GUI thread, a pipe or a device too).
    """
    if is_own(name):
        original = document.resource(_IMAGE, QUrl(f"{name}#original"))
        if isinstance(original, QByteArray) and sniff(data := bytes(original.data())):
            return data, sniff(data)
    if name.startswith("data:") and sniff(data := _data_url_bytes(name)):
        return data, sniff(data)
    if local_path(name) is not None:
        return None
    resource = document.resource(_IMAGE, QUrl(name))
    if isinstance(resource, QByteArray):
        if sniff(data := bytes(resource.data())):
            return data, sniff(data)
        resource = QImage.fromData(resource)
    if isinstance(resource, QPixmap):
        if is_placeholder(resource):
            return None
        resource = resource.toImage()
    if not isinstance(resource, QImage) or resource.isNull():
        return None
    return png_bytes(resource), "image/png"


@functools.cache
def placeholder() -> QPixmap:
    """What an image not (or not yet) in the document shows: a light grey square."""
    picture = QPixmap(24, 24)
    picture.fill(QColor("#d8d8d8"))
    return picture


def is_placeholder(picture: QPixmap) -> bool:
    """True for the placeholder (or a copy of it): never sent, never copied out."""
    return picture.cacheKey() == placeholder().cacheKey()


def holds_image(document: QTextDocument, name: str) -> bool:
    """True when document has a picture of its own under name (not the placeholder)."""
    resource = document.resource(_IMAGE, QUrl(name))
    return resource is not None and not (isinstance(resource, QPixmap) and is_placeholder(resource))


def offline_resource(kind: int, url: QUrl) -> object:
    """What a text editor's loadResource gives for anything its document does not hold.

    Qt's own QTextDocument.loadResource reads a file: URL or a path from disk, on the GUI
    thread, whole (``<img src="file:///dev/zero">``); and a layout given anything but a
    picture for an image opens the image's name itself (QTextImageHandler: measured with
    PySide6 6.11, an empty string opened a pipe). So an image is the placeholder, anything
    else (a style sheet that HTML links to) is empty; data: URLs, already in memory, are left
    to Qt.
    """
    if url.scheme().lower() == "data":
        return None
    return placeholder() if kind == _IMAGE.value else ""


def _data_url_bytes(url: str) -> bytes:
    """The payload of a base64 data: URL (images pasted from web pages), else b""."""
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        return b""
    try:
        return base64.b64decode(payload, validate=False)
    except ValueError:
        return b""


def png_bytes(image: QImage) -> bytes:
    """image encoded as PNG."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6 6.12 accepts only a str here, although its stubs ask for bytes.
    image.save(buffer, "PNG")  # type: ignore[call-overload]
    return bytes(buffer.data().data())


def is_own(name: str) -> bool:
    """True for an image that add_image stored (its cid can be used as it is)."""
    return name.startswith("cid:") and name.endswith(_OWN_SUFFIX)


def filename_for(name: str, alt: str, content_type: str) -> str:
    """A file name for an inline image: its own or alt's stem, with content_type's extension."""
    stem = Path(alt).stem if alt else ""
    if not stem and not is_own(name) and not name.startswith("data:"):
        stem = Path(QUrl(name).path()).stem
    return (stem or "image") + EXTENSIONS.get(content_type, ".png")
