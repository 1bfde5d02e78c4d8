"""Certificates for tests, made with the `cryptography` package: a CA, and party certificates
naming their party by the SAN URI fateflow://party/<id> (see party_proxy/security.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Identity:
    cert: Path
    key: Path
    #: The DNS name in the certificate, which a client checks as the server's name.
    name: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class CertificateAuthority:
    def __init__(self, directory: Path, name: str = "fateflow test CA") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = (
            self._builder(_name(name), self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert = directory / f"{name.replace(' ', '-')}.pem"
        self.cert.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def _builder(
        self, subject: x509.Name, key: ec.EllipticCurvePublicKey, *, expired: bool = False
    ) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        if expired:
            now -= datetime.timedelta(days=2)
        issuer = self._cert.subject if hasattr(self, "_cert") else subject
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    def party(self, party_id: int, *, expired: bool = False) -> Identity:
        """A certificate for party `party_id`'s proxy, as server and as client (valid for a
        day, or one that expired yesterday)."""
        name = f"party-{party_id}.fateflow"
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            self._builder(_name(name), key.public_key(), expired=expired)
            .add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName(name),
                        x509.UniformResourceIdentifier(f"fateflow://party/{party_id}"),
                    ]
                ),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        identity = Identity(self.directory / f"{name}.pem", self.directory / f"{name}.key", name)
        identity.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        identity.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return identity
