"""Build the preset zlib dictionaries of stored webhook payloads from the real payload corpus.

A webhook body of 1-2 KB compresses poorly on its own: the compressor starts with no history, so
every key name is spelled out once before it can be referred to. A *preset dictionary*
(``zlib.compressobj(zdict=...)``) gives it that history up front: what a provider's events always
contain, so a body mostly becomes references into it (docs/PERFORMANCE.md, "Item sizes").

The input is ``tests/fixtures/providers/<provider>/`` (real payloads, origins recorded there). The
output is one *skeleton* per corpus payload: its keys and structure in order, with the string and
number values kept only when at least two corpus files share them (``"object":"charge"``,
``"currency":"usd"``); the rest, ids, amounts and timestamps, become ``""`` or ``0``, because a
value that only one payload had will not be in the next one. Lists keep their first element.
Skeletons are written as compact JSON and joined, the most common last (zlib reaches recent bytes
with shorter distance codes), and cut to :data:`MAX_BYTES` from the front.

The output is deterministic (sorted inputs, no clock, no randomness): ``--check`` rebuilds and
compares with the committed file. A committed dictionary is **frozen**: records were written with
it and must stay readable, so a better one is a new version (``<provider>-2.bin``) with a new
encoding name, and the old file stays (chalicelib/webhooks/dictionaries/__init__.py pins both).

    python -m providers_tooling.dictionaries --evaluate      # leave-one-out sizes, per provider
    python -m providers_tooling.dictionaries --write stripe  # writes <provider>-<next version>.bin
    python -m providers_tooling.dictionaries --write payments  # the payment records' dictionary
    python -m providers_tooling.dictionaries --check         # the committed files are reproducible
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "providers"
OUTPUT = ROOT / "chalicelib" / "webhooks" / "dictionaries"
MAX_BYTES = 8 * 1024
"""Large enough for every skeleton of a provider's corpus; small enough that reading and hashing it
on a cold start costs microseconds. zlib would use up to 32 KB."""
MAX_KEPT_VALUE = 48
"""Longer shared values (descriptions, URLs with ids) are rarely shared by the next payload."""


def corpus(provider: str) -> list[tuple[str, Any]]:
    """``(file name, payload)`` of every corpus file of ``provider``, sorted by name."""
    folder = CORPUS / provider
    return [(path.name, json.loads(path.read_text())["payload"]) for path in sorted(folder.glob("*.json"))]


def scalars(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from scalars(value)
    elif isinstance(node, list):
        for value in node:
            yield from scalars(value)
    elif isinstance(node, (str, int, float)) and not isinstance(node, bool):
        yield json.dumps(node)


def shared_values(payloads: Sequence[Any]) -> set[str]:
    """The scalar values (as JSON text) that at least two of ``payloads`` contain."""
    counts: Counter[str] = Counter()
    for payload in payloads:
        counts.update(set(scalars(payload)))
    return {value for value, n in counts.items() if n >= 2 and len(value) <= MAX_KEPT_VALUE}


def skeleton(node: Any, shared: set[str]) -> Any:
    """``node``'s keys and structure, with only the values in ``shared`` kept."""
    if isinstance(node, dict):
        return {key: skeleton(value, shared) for key, value in node.items()}
    if isinstance(node, list):
        return [skeleton(node[0], shared)] if node else []
    if node is None or isinstance(node, bool):
        return node
    if json.dumps(node) in shared:
        return node
    return "" if isinstance(node, str) else 0


def build(payloads: Sequence[Any]) -> bytes:
    """The dictionary of ``payloads``: their skeletons, distinct, the most frequent last."""
    shared = shared_values(payloads)
    texts = [json.dumps(skeleton(p, shared), separators=(",", ":"), ensure_ascii=False) for p in payloads]
    counts = Counter(texts)
    # Rarest first, so the most common structure ends up nearest the data; ties by text, for
    # reproducibility.
    ordered = sorted(counts, key=lambda text: (counts[text], text))
    joined = "".join(ordered).encode("utf-8")
    return joined[-MAX_BYTES:]


def compressed_size(data: bytes, zdict: bytes | None) -> int:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict) if zdict else (
        zlib.compressobj(6))
    return len(compressor.compress(data) + compressor.flush())


Evaluated = tuple[str, int, int, int]


def evaluate(provider: str) -> list[Evaluated]:
    """Leave-one-out: each corpus payload compressed with a dictionary built without it.

    ``(name, raw bytes, zlib bytes, zlib with dictionary bytes)``, compact JSON as the samples send it.
    """
    files = corpus(provider)
    rows = []
    for index, (name, payload) in enumerate(files):
        others = [p for i, (_, p) in enumerate(files) if i != index]
        data = json.dumps(payload, separators=(",", ":")).encode()
        zdict = build(others) if others else None
        rows.append((name, len(data), compressed_size(data, None), compressed_size(data, zdict)))
    return rows


PAYMENTS = "payments"
"""The dictionary of payment records' packed ``state`` and ``history`` (chalicelib/payments/record.py)."""


def payment_documents() -> list[Any]:
    """What payment records built from the corpus pack: every corpus event that normalizes, folded
    into a record of its own, as the ``{"history": ..., "state": ...}`` document the record packs.

    Real events through the real normalizers and fold, so the dictionary has the state's and the
    history's key names and the providers' event types and statuses; ids and times are cut by
    :func:`skeleton` like any other unshared value.
    """
    from chalicelib.errors import ProcessingError
    from chalicelib.payments.record import PaymentRecord, packed_document
    from chalicelib.providers import get_provider
    from chalicelib.webhooks.record import WebhookRecord, WebhookStatus

    documents = []
    for provider in providers():
        normalizer = get_provider(provider)
        for index, path in enumerate(sorted((CORPUS / provider).glob("*.json"))):
            entry = json.loads(path.read_text())
            webhook = WebhookRecord(
                webhook_id=f"wh_{index:032d}", source=provider, provider=provider, event_id=f"corpus-{index}",
                event_type=entry["eventType"], payload=json.dumps(entry["payload"]),
                received_at="2024-01-01T00:00:00.000Z", status=WebhookStatus.RECEIVED,
            )
            try:
                event = normalizer.normalize(webhook)
            except ProcessingError:  # the corpus's refused payloads: no record
                continue
            if event is None:
                continue
            record = PaymentRecord.new(event.payment_key, provider).apply(event, "2024-01-01T00:00:01.000000Z")
            if record is not None:
                documents.append(json.loads(packed_document(record)))
    return documents


def inputs(name: str) -> list[Any]:
    """The documents dictionary ``name`` (a provider, or :data:`PAYMENTS`) is built from."""
    return payment_documents() if name == PAYMENTS else [payload for _, payload in corpus(name)]


def providers() -> list[str]:
    return sorted(path.name for path in CORPUS.iterdir() if path.is_dir())


def committed(provider: str) -> list[Path]:
    return sorted(OUTPUT.glob(f"{provider}-*.bin"), key=lambda path: int(path.stem.rsplit("-", 1)[1]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluate", action="store_true", help="leave-one-out sizes per provider")
    parser.add_argument("--write", nargs="*", metavar="PROVIDER", help="write a new version for these providers")
    parser.add_argument("--check", action="store_true", help="the newest committed version of each is reproducible")
    args = parser.parse_args(argv)
    if args.evaluate:
        documents = payment_documents()
        raw = plain = dicted = 0
        for index, document in enumerate(documents):
            data = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
            zdict = build(documents[:index] + documents[index + 1:])
            raw, plain, dicted = raw + len(data), plain + compressed_size(data, None), dicted + compressed_size(
                data, zdict)
        print(f"{PAYMENTS}: {len(documents)} records, {raw} B raw, {plain} B zlib, {dicted} B zlib+dictionary")
        for provider in providers():
            rows = evaluate(provider)
            raw, plain, dicted = (sum(int(row[i]) for row in rows) for i in (1, 2, 3))
            print(f"{provider}: {len(rows)} payloads, {raw} B raw, {plain} B zlib, {dicted} B zlib+dictionary "
                  "(each left out of its dictionary)")
    for provider in args.write or ():
        versions = committed(provider)
        built = build(inputs(provider))
        if versions and versions[-1].read_bytes() == built:
            print(f"{provider}: unchanged ({versions[-1].name})")
            continue
        path = OUTPUT / f"{provider}-{len(versions) + 1}.bin"
        path.write_bytes(built)
        print(f"{provider}: wrote {path.relative_to(ROOT)} ({len(built)} B)")
    if args.check:
        stale = [p for p in [*providers(), PAYMENTS] if committed(p) and committed(p)[-1].read_bytes()
                 != build(inputs(p))]
        if stale:
            print(f"not reproducible from the corpus: {', '.join(stale)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
