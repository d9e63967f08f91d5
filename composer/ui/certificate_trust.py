"""The certificate part of the Accounts dialog: review a certificate that failed, trust it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from composer.mail.accounts import Account
from composer.mail.certificates import CertificateInfo, spaced
from composer.mail.errors import ErrorKind, SendError
from composer.ui.naming import named

_CERTIFICATE_KINDS = (ErrorKind.CERTIFICATE, ErrorKind.CERTIFICATE_CHANGED)


class CertificateTrust(QWidget):
    """Shows the certificate an account trusts, or the one a connection test could not.

    Hidden while there is nothing to show. Trusting takes exactly the certificate shown,
    by its fingerprint; the dialog keeps it with the account's other fields until Save.

    Signals:
        trusted(str): the user chose to trust the certificate shown; carries its SHA-256
            fingerprint.
        forgotten: the user chose to verify this server's certificate as usual again.
    """

    trusted = Signal(str)
    forgotten = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._offered: CertificateInfo | None = None
        self.details = named("certificateDetails", QLabel(wordWrap=True))
        # Subjects and issuers are the server's text, not Composer's.
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.trust_button = named("trustCertificateButton", QPushButton("Trust This Certificate"))
        self.trust_button.setToolTip(
            "Trust exactly this certificate for this account, by its SHA-256 fingerprint. "
            "Any other certificate will be refused."
        )
        self.trust_button.clicked.connect(self._on_trust_clicked)
        self.forget_button = named(
            "forgetCertificateButton", QPushButton("Forget Trusted Certificate")
        )
        self.forget_button.clicked.connect(self.forgotten)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.trust_button)
        buttons.addWidget(self.forget_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self.show_account(None)

    def show_account(self, account: Account | None) -> None:
        """What account trusts, if anything; forgets a certificate offered earlier."""
        self._offered = None
        self.trust_button.hide()
        pin = account.trusted_certificate if account else ""
        self.forget_button.setVisible(bool(pin))
        if pin:
            self.details.setText(
                "This account trusts one certificate, whatever its issuer and names:\n"
                f"SHA-256 fingerprint: {spaced(pin)}"
            )
        self.setVisible(bool(pin))

    def offer(self, error: SendError) -> None:
        """Show the certificate of a failed connection test and, if it may be, offer to trust it."""
        info = error.certificate
        if error.kind not in _CERTIFICATE_KINDS or info is None:
            return
        self._offered = info
        if info.weak:
            advice = "Its key is too weak to be safe, so it cannot be trusted."
        elif error.kind is ErrorKind.CERTIFICATE_CHANGED:
            advice = (
                "This is not the certificate you trusted. Trust it only if your provider "
                "confirms that they changed it (compare the fingerprint)."
            )
        else:
            advice = (
                "Trust it only if this is your own server or your provider confirms this "
                "fingerprint."
            )
        self.details.setText(f"The server presented this certificate:\n{info.describe()}\n{advice}")
        self.trust_button.setVisible(not info.weak)
        self.setVisible(True)

    @Slot()
    def _on_trust_clicked(self) -> None:
        info = self._offered
        if info is None:
            return
        self.trusted.emit(info.fingerprint)
        self._offered = None
        self.trust_button.hide()
        self.forget_button.show()
        self.details.setText(
            "Trusted once you save: this certificate, and no other, for this account.\n"
            f"SHA-256 fingerprint: {spaced(info.fingerprint)}"
        )
