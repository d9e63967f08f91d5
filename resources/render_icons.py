"""Render icons/composer.svg to the PNG sizes the desktops use, plus .ico and .icns for builds.

Run ``.venv/bin/python resources/render_icons.py`` (``make icons``) after changing the SVG and
commit what it writes. Build-time only: needs PySide6 (QtSvg), no other package.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256)
# Windows wants 16-256 in one .ico (PNG-compressed entries work since Vista).
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# macOS icon types that hold a PNG, with their pixel size (ic11-ic14 are the @2x variants).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)


def render_png(renderer: QSvgRenderer, size: int) -> bytes:
    """The SVG drawn on a transparent size×size square, as PNG bytes."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, b"png")  # QImage.save's stubs and runtime disagree on format
    if not writer.write(image):
        raise RuntimeError(f"could not encode a {size}px PNG: {writer.errorString()}")
    return bytes(data.data())


def ico(images: dict[int, bytes]) -> bytes:
    """An .ico file holding each PNG as it is (ICONDIR, one ICONDIRENTRY per size, the data)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in sorted(images.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in a one-byte field
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def icns(renderer: QSvgRenderer) -> bytes:
    """An .icns file: 'icns', total length, then (type, length, PNG) for each entry."""
    body = b""
    for kind, size in ICNS_TYPES:
        png = render_png(renderer, size)
        body += kind + struct.pack(">I", 8 + len(png)) + png
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no window is shown
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "composer.svg"))
    if not renderer.isValid():
        print(f"cannot read {ICONS / 'composer.svg'}", file=sys.stderr)
        return 1
    pngs = {size: render_png(renderer, size) for size in PNG_SIZES}
    for size, png in pngs.items():
        (ICONS / f"composer-{size}.png").write_bytes(png)
    (ICONS / "composer.ico").write_bytes(ico({s: pngs[s] for s in ICO_SIZES}))
    (ICONS / "composer.icns").write_bytes(icns(renderer))
    print(f"wrote {len(pngs)} PNGs, composer.ico and composer.icns in {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
