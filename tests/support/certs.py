"""A throwaway CA, server and client certificate for TLS tests (cryptography, no openssl CLI)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def make_tls(dir_: Path) -> dict[str, Path]:
    """ca.pem, server-cert.pem, server-key.pem, cert.pem, key.pem (docker's DOCKER_CERT_PATH names)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockwright test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(cn: str, server: bool) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        k = _key()
        b = (
            x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_name).public_key(k.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        if server:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return b.sign(ca_key, hashes.SHA256()), k

    dir_.mkdir(parents=True, exist_ok=True)
    out = {name: dir_ / name for name in ("ca.pem", "server-cert.pem", "server-key.pem", "cert.pem", "key.pem")}
    out["ca.pem"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    scert, skey = leaf("localhost", True)
    out["server-cert.pem"].write_bytes(scert.public_bytes(serialization.Encoding.PEM))
    _write_key(skey, out["server-key.pem"])
    ccert, ckey = leaf("client", False)
    out["cert.pem"].write_bytes(ccert.public_bytes(serialization.Encoding.PEM))
    _write_key(ckey, out["key.pem"])
    return out
