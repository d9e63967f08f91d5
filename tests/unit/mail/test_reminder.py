"""The attachment reminder: which bodies announce an attachment."""

from __future__ import annotations

import pytest

from composer.mail.reminder import attachment_mention


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ("Please find the report attached.", "attached"),
        ("See the ATTACHMENT for details", "ATTACHMENT"),
        ("I attach the minutes.", "attach"),
        ("Enclosed is the invoice.", "Enclosed"),
        ("Im Anhang findest du die Folien.", "Anhang"),
        ("Anbei die Rechnung.", "Anbei"),
        ("Die Datei ist angehängt.", "angehängt"),
        ("Vous trouverez le contrat en pièce jointe.", "en pièce jointe"),
        ("Ci-joint le devis.", "Ci-joint"),
        ("Te envío el archivo adjunto.", "archivo adjunto"),
        ("Adjunto la factura.", "Adjunto"),
        ("Hi,\n\nthe file is attached\n", "attached"),
    ],
)
def test_mentions_are_found(body: str, word: str) -> None:
    assert attachment_mention(body) == word


@pytest.mark.parametrize(
    "body",
    [
        "",
        "Hello, see you tomorrow.",
        "> Please find the report attached.\nThanks, got it!",
        "  > > nested quote with attachment\nok",
        "The detached house is nice.",  # a word that merely contains "attach"
        "Reattachment surgery went well.",
        "Bye\n-- \nSent with attachments since 1999",  # the signature does not count
        "Der Anhänger ist kaputt.",  # German trailer, not "Anhang"
    ],
)
def test_no_mention(body: str) -> None:
    assert attachment_mention(body) is None
