"""Build the sealed-file test vectors (age v1, X25519) for docs/PROTOCOL.md, section "Sealing (age v1)".

Run ``python tests/vectors/sealed/generate.py`` from the repository root to (re)write the files next to this script.
``tests/sync_protocol/test_seal.py`` calls ``build_vectors()`` and compares every byte with what is on disk.

Every secret is derived as ``sha256(label)`` so the vectors are reproducible. Each intermediate value is computed
here a second time from bare ``cryptography`` primitives, independently of ``sync_protocol.seal``, and the sealed
output of ``sync_protocol.seal._seal_with`` (the deterministic hook used only for vectors) must agree with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from sync_protocol import seal  # noqa: E402


def secret(label: str) -> bytes:
    return hashlib.sha256(f"yiciban test vector: {label}".encode()).digest()


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


INGEST_PRIVATE = secret("ingest identity")
ESCROW_PRIVATE = secret("escrow identity")
PLAINTEXTS = {
    "small": '{"case":"0192f3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d","name":"张三","item":"低保申请"}\n'.encode(),
    "multi-chunk": bytes(i % 251 for i in range(64 * 1024 + 1000)),
    "exact-chunk": bytes((i * 7) % 256 for i in range(64 * 1024)),
    "empty": b"",
}


def public(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def reference_seal(name: str, plaintext: bytes) -> tuple[bytes, dict[str, object]]:
    """Seal by hand, step by step as PROTOCOL.md describes it, recording every intermediate value."""
    file_key = secret(f"{name} file key")[:16]
    payload_nonce = secret(f"{name} payload nonce")[:16]
    stanzas = []
    header = b"age-encryption.org/v1\n"
    for role, private in (("ingest", INGEST_PRIVATE), ("escrow", ESCROW_PRIVATE)):
        ephemeral_secret = secret(f"{name} ephemeral for {role}")
        share = public(ephemeral_secret)
        recipient = public(private)
        shared = X25519PrivateKey.from_private_bytes(ephemeral_secret).exchange(
            X25519PublicKey.from_public_bytes(recipient)
        )
        wrap_key = hkdf(shared, share + recipient, b"age-encryption.org/v1/X25519")
        body = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None)
        header += f"-> X25519 {b64(share)}\n{b64(body)}\n".encode()
        stanzas.append(
            {
                "recipient": seal.encode_recipient(recipient),
                "ephemeral_secret": ephemeral_secret.hex(),
                "ephemeral_share": share.hex(),
                "shared_secret": shared.hex(),
                "wrap_key": wrap_key.hex(),
                "body": body.hex(),
            }
        )
    header += b"---"
    mac_key = hkdf(file_key, b"", b"header")
    mac = hmac.new(mac_key, header, hashlib.sha256).digest()
    header += f" {b64(mac)}\n".encode()
    payload_key = hkdf(file_key, payload_nonce, b"payload")
    aead = ChaCha20Poly1305(payload_key)
    chunk_size = 64 * 1024
    count = max(1, -(-len(plaintext) // chunk_size))
    chunks = []
    for i in range(count):
        nonce = i.to_bytes(11, "big") + (b"\x01" if i == count - 1 else b"\x00")
        chunks.append(aead.encrypt(nonce, plaintext[i * chunk_size : (i + 1) * chunk_size], None))
    sealed = header + payload_nonce + b"".join(chunks)
    record: dict[str, object] = {
        "plaintext_file": f"{name}.plaintext",
        "plaintext_sha256": hashlib.sha256(plaintext).hexdigest(),
        "sealed_file": f"{name}.age",
        "sealed_sha256": hashlib.sha256(sealed).hexdigest(),
        "file_key": file_key.hex(),
        "stanzas": stanzas,
        "header_mac_key": mac_key.hex(),
        "header": header.decode(),
        "header_mac": mac.hex(),
        "payload_nonce": payload_nonce.hex(),
        "payload_key": payload_key.hex(),
        "chunks": [
            {
                "nonce": (i.to_bytes(11, "big") + (b"\x01" if i == count - 1 else b"\x00")).hex(),
                "plaintext_length": len(plaintext[i * chunk_size : (i + 1) * chunk_size]),
                "ciphertext_length": len(c),
            }
            for i, c in enumerate(chunks)
        ],
    }
    return sealed, record


def build_vectors() -> dict[str, bytes]:
    """Every vector file name mapped to its exact bytes."""
    files: dict[str, bytes] = {
        "ingest-identity.txt": (seal.encode_identity(INGEST_PRIVATE) + "\n").encode(),
        "escrow-identity.txt": (seal.encode_identity(ESCROW_PRIVATE) + "\n").encode(),
    }
    index = {}
    for name, plaintext in PLAINTEXTS.items():
        sealed, record = reference_seal(name, plaintext)
        hooked = seal._seal_with(
            plaintext,
            [public(INGEST_PRIVATE), public(ESCROW_PRIVATE)],
            file_key=bytes.fromhex(str(record["file_key"])),
            ephemeral_secrets=[secret(f"{name} ephemeral for {role}") for role in ("ingest", "escrow")],
            payload_nonce=bytes.fromhex(str(record["payload_nonce"])),
        )
        if hooked != sealed:
            raise AssertionError(f"sync_protocol.seal disagrees with the reference for vector {name}")
        files[f"{name}.plaintext"] = plaintext
        files[f"{name}.age"] = sealed
        index[name] = record
    keys = {
        role: {
            "identity": seal.encode_identity(private),
            "private_key": private.hex(),
            "recipient": seal.encode_recipient(public(private)),
            "public_key": public(private).hex(),
        }
        for role, private in (("ingest", INGEST_PRIVATE), ("escrow", ESCROW_PRIVATE))
    }
    document = {"format": "age-encryption.org/v1", "keys": keys, "vectors": index}
    files["vectors.json"] = (
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode()
    return files


def main() -> None:
    for name, content in build_vectors().items():
        (HERE / name).write_bytes(content)
        print(f"wrote {name} ({len(content)} bytes)")


if __name__ == "__main__":
    main()
