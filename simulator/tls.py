"""The lab's certificates: a CA made once per state dir (or one given, shared by
every shard of a lab) and a server certificate it signs for every HTTPS
listener. Clients either turn verification off (as with a real box's
self-signed certificate) or trust the CA's `ca.pem` (`<state dir>/tls/ca.pem`,
or the lab control API's `GET /api/ca.pem`)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "simulator lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _alt_names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     x509.IPAddress(ipaddress.ip_address("::1"))]
    try:
        address = ipaddress.ip_address(host)
        if x509.IPAddress(address) not in names:
            names.append(x509.IPAddress(address))
        if address.is_unspecified:      # every address: the names clients reach it by (a pod's DNS name)
            for name in (socket.gethostname(), socket.getfqdn()):
                if name and x509.DNSName(name) not in names:
                    names.append(x509.DNSName(name))
    except ValueError:
        if host and host != "localhost":
            names.append(x509.DNSName(host))
    return names


class LabCertificates:
    """Files under `<state dir>/tls`: server.pem/server.key, and ca.pem/ca.key there too
    unless `ca_folder` holds the CA (a sharded lab's, made once by its supervisor or
    mounted from a Secret)."""

    def __init__(self, folder: Path, host: str, ca_folder: Path | None = None) -> None:
        self.folder = folder
        self.host = host
        self.ca_folder = ca_folder or folder
        self.ca_path = self.ca_folder / "ca.pem"
        self.ca_key_path = self.ca_folder / "ca.key"
        self.cert_path = folder / "server.pem"
        self.key_path = folder / "server.key"

    def ensure_ca(self) -> None:
        if not (self.ca_path.exists() and self.ca_key_path.exists()):
            self.ca_folder.mkdir(parents=True, exist_ok=True)
            self._make_ca(self.ca_key_path)

    def ensure(self) -> None:
        """Make what is missing; a server certificate for another host, or not signed by
        this CA (a state dir that moved to a shared CA), is remade."""
        self.ensure_ca()
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.cert_path.exists() and self.key_path.exists() and self._current()):
            self._make_server(self.ca_key_path)

    def _current(self) -> bool:
        cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        try:
            cert.verify_directly_issued_by(x509.load_pem_x509_certificate(self.ca_path.read_bytes()))
        except (ValueError, TypeError, InvalidSignature):
            return False
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return all(name in sans for name in _alt_names(self.host))

    def _make_ca(self, key_path: Path) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(_name("simulator lab CA")).issuer_name(_name("simulator lab CA"))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=VALID_DAYS * 4))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        _write_key(key_path, key)
        self.ca_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _make_server(self, ca_key_path: Path) -> None:
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(self.ca_path.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(_name(self.host or "localhost"))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                .add_extension(x509.SubjectAlternativeName(_alt_names(self.host)), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
        _write_key(self.key_path, key)
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def server_context(self) -> ssl.SSLContext:
        self.ensure()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context
