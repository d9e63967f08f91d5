"""The Server tab's login rows for an account whose provider signs in: the choice between
signing in and a password, and the sign-in itself (button, status, the address to open)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from composer.ui.naming import named


@dataclass(frozen=True)
class LoginOffer:
    """What the login choice offers for one account."""

    key: str = ""  # the authorization server its provider signs in with; "" for none
    name: str = ""  # that server's name, for "Sign in with {name}"
    available: bool = False  # a client registration is there, so signing in can work
    why_not: str = ""  # when not available: why, and what to do


NO_OFFER = LoginOffer()


def _plain_label(name: str) -> QLabel:
    label = named(name, QLabel(wordWrap=True))
    # Provider names and their errors, addresses: never rich text.
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class LoginChoice(QWidget):
    """ "Sign in with <Name>" or "Password", and why signing in is not offered.

    Signals:
        chosen(bool): the user chose; True for signing in.
    """

    chosen = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = named("loginMethod", QComboBox())
        self.method.setAccessibleName("Log in with")
        self.note = _plain_label("loginMethodNote")
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.method)
        layout.addWidget(self.note)
        self.setFocusProxy(self.method)
        self._offer = NO_OFFER
        self.method.activated.connect(self._on_activated)

    def show_offer(self, offer: LoginOffer, *, signing_in: bool) -> None:
        """Offer signing in at offer's server (or a password); signing_in: chosen now."""
        if offer != self._offer or self.method.count() != 2:
            self._offer = offer
            self.method.clear()
            self.method.addItem(f"Sign in with {offer.name}", True)
            self.method.addItem("Password", False)
        self.method.setCurrentIndex(0 if signing_in else 1)
        self.method.setEnabled(offer.available)
        self.note.setText(offer.why_not)
        self.note.setVisible(bool(offer.why_not) and not offer.available)

    def signing_in(self) -> bool:
        return bool(self.method.currentData())

    @Slot(int)
    def _on_activated(self, _index: int) -> None:
        self.chosen.emit(self.signing_in())


class SignInPanel(QWidget):
    """The sign-in of one account: Sign In, Cancel while the browser is open, what happened,
    and the address to open by hand when no browser could be started."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = named("signInButton", QPushButton("Sign In…"))
        # Its own button, as with Test Connection: a click meant for Sign In just as a
        # sign-in ends must not cancel the next one.
        self.cancel_button = named("signInCancel", QPushButton("Cancel Sign-In"))
        self.cancel_button.hide()
        self.status = _plain_label("signInStatus")
        # A sign-in address is hundreds of characters with no space to wrap at: a read-only
        # line scrolls it, selects it whole and copies it, and never reads it as rich text.
        self.address = named("signInAddress", QLineEdit(readOnly=True))
        self.address.setAccessibleName("Sign-in address")
        self.address.hide()
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.address)

    def show_server(self, name: str) -> None:
        self.button.setText(f"Sign In with {name}…")

    def show_state(
        self, text: str, *, waiting: bool = False, address: str = "", available: bool = True
    ) -> None:
        """Say how the sign-in stands; waiting: the browser is open and Cancel stops it;
        address: the sign-in page to open by hand (no browser could be started);
        available: signing in can be started (a client registration is there)."""
        self.status.setText(text)
        self.button.setEnabled(available and not waiting)
        self.cancel_button.setVisible(waiting)
        self.cancel_button.setEnabled(waiting)
        self.address.setText(address)
        self.address.setCursorPosition(0)
        self.address.setVisible(bool(address))
