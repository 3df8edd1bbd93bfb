"""TLS flavours of the loopback SMTP server; the plain one lives in tests/smtp.py."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smtp import (  # noqa: F401 - re-exported for the mail tests
    SMTP_PASSWORD,
    SMTP_USER,
    Inbox,
    SmtpServer,
    authenticate,
    free_port,
    run_server,
    smtp_fixture,
)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP with AUTH allowed without TLS (loopback only)."""
    yield from smtp_fixture()


@dataclass
class Certificate:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, and contexts that serve and trust it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return Certificate(server, client)


@pytest.fixture
def starttls_server(certificate: Certificate) -> Iterator[SmtpServer]:
    """SMTP that requires STARTTLS before anything else, and AUTH after it."""
    yield from run_server(
        tls_context=certificate.server, require_starttls=True, authenticator=authenticate
    )


@pytest.fixture
def smtps_server(certificate: Certificate) -> Iterator[SmtpServer]:
    """SMTP over implicit TLS (what smtps:// speaks)."""
    yield from run_server(ssl_context=certificate.server)
