"""Benchmark: documents per second for the village receipt and the handover manifest (goal: a receipt < 100 ms).

Each document carries signed QR payloads, as a station prints it. Prints ``RESULT <name> <value>`` lines:
milliseconds per document as a station prints it (two labelled copies, 一式两份; signed payloads new for every
run; median of the timed runs, after one warm-up that registers the font), the receipt as a single copy, documents per
second, and the same for a floor — a one-line PDF with the same embedded font — measured in the same run, so the
ratio says how much of the cost is our layout rather than reportlab's fixed cost.

Run: ``.venv/bin/python bench/printing.py [--runs N]``
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder leads sys.path and the file's own name would shadow the printing package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _HERE]

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import (  # noqa: E402
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from printing import render, render_html  # noqa: E402
from printing.fonts import cjk_font  # noqa: E402
from printing.samples import CASE, sample_documents  # noqa: E402
from sync_protocol.receipts import sign_qr_payload  # noqa: E402

PRIVATE = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"bench-station").digest())
PRIVATE_RAW = PRIVATE.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
KEY_ID = hashlib.sha256(PRIVATE.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def signed_receipt() -> object:
    fields = {
        "case_id": str(uuid.uuid4()),
        "case_number": CASE,
        "item_code": "990101101000-GF00201000",
        "station_id": "990101101201",
        "issued_on": "2026-11-23",
        "doc_type": "mr",
    }
    payload = sign_qr_payload("r", fields, PRIVATE_RAW, KEY_ID)
    return dataclasses.replace(sample_documents()["materials_receipt"], qr_payload=payload)


def signed_manifest(folder_count: int) -> object:
    manifest = sample_documents()["handover_manifest"]
    template = manifest.folders  # type: ignore[attr-defined]
    folders = []
    for n in range(folder_count):
        base = template[n % len(template)]
        number = f"{base.case_number[:-4]}{n + 1:04d}"
        fields = {
            "case_id": str(uuid.uuid4()),
            "case_number": number,
            "item_code": number.rsplit("-", 3)[0],
            "sending_station": "990101101201",
            "masked_applicant": "张*明",
            "material_count": base.material_count,
            "manifest_id": "JJ-V01-20261123-02",
        }
        payload = sign_qr_payload("c", fields, PRIVATE_RAW, KEY_ID)
        folders.append(dataclasses.replace(base, case_number=number, qr_payload=payload))
    return dataclasses.replace(manifest, folders=tuple(folders))


def floor_pdf() -> bytes:
    font = cjk_font()
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    page.setFont(font, 12)
    page.drawString(72, 720, "材料接收凭证 张晓明 3301**********1236")
    page.showPage()
    page.save()
    return buffer.getvalue()


def time_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm-up: font registration, template compilation
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    # Every document a station prints carries new payloads: never let the QR cache serve a timed run.
    receipts = iter([signed_receipt() for _ in range(3 * args.runs + 3)])
    manifests = iter([signed_manifest(10) for _ in range(args.runs + 1)])

    def fresh_receipt() -> object:
        return next(receipts)

    def fresh_manifest() -> object:
        return next(manifests)

    results = {
        "floor_ms": time_ms(floor_pdf, args.runs),
        "receipt_ms": time_ms(lambda: render(fresh_receipt()), args.runs),
        "receipt_single_copy_ms": time_ms(lambda: render(fresh_receipt(), copies=()), args.runs),
        "manifest_ms": time_ms(lambda: render(fresh_manifest()), args.runs),
        "receipt_html_ms": time_ms(lambda: render_html(fresh_receipt()), args.runs),
        "sign_receipt_qr_ms": time_ms(signed_receipt, args.runs),
    }
    for name, value in results.items():
        print(f"RESULT {name} {value:.2f}")
    print(f"RESULT receipt_docs_per_s {1000 / results['receipt_ms']:.1f}")
    print(f"RESULT manifest_docs_per_s {1000 / results['manifest_ms']:.1f}")
    print(f"RESULT receipt_vs_floor_ratio {results['receipt_ms'] / results['floor_ms']:.2f}")
    print(f"RESULT receipt_goal_met {int(results['receipt_ms'] < 100)}")


if __name__ == "__main__":
    main()
