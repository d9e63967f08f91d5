"""Server certificates for tests: expired, self-signed, weak, for another name, as a TLS
server context, made with the cryptography package (and a trustme CA as issuer)."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import ssl
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.servers import HOST


@dataclass(frozen=True)
class ServerCertificate:
    """A certificate, its private key, and what Composer should call it."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def der(self) -> bytes:
        return ssl.PEM_cert_to_DER_cert(self.cert_pem.decode("ascii"))

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.der).hexdigest()

    def context(self, *, weak_ok: bool = False, old_tls_only: bool = False) -> ssl.SSLContext:
        """A server-side context presenting this certificate.

        weak_ok lowers OpenSSL's security level so that a server can use a key that a
        client at the default level refuses; old_tls_only allows nothing newer than TLS 1.1.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if weak_ok or old_tls_only:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        if old_tls_only:
            with warnings.catch_warnings():  # the very versions a client must refuse
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = ssl.TLSVersion.TLSv1
                context.maximum_version = ssl.TLSVersion.TLSv1_1
        handle, path = tempfile.mkstemp(suffix=".pem")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(self.cert_pem + self.key_pem)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
        return context


def issue(
    *names: str,
    ca: trustme.CA | None = None,
    common_name: str | None = None,
    rsa_bits: int | None = None,
    valid_days: tuple[int, int] = (-1, 30),
) -> ServerCertificate:
    """A certificate for names (host names or IP addresses), issued by ca or self-signed.

    rsa_bits gives an RSA key of that size instead of an EC one; valid_days is when it
    becomes and stops being valid, in days from now.
    """
    names = names or (HOST,)
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if rsa_bits:
        key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or names[0])])
    if ca is None:
        issuer_name, signer = subject, key
    else:
        issuer_name = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject
        loaded = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
        assert isinstance(loaded, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
        signer = loaded
    now = datetime.now(UTC)
    start, end = valid_days
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start))
        .not_valid_after(now + timedelta(days=end))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        .sign(signer, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ServerCertificate(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
