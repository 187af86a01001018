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

The output is deterministic (sorted inputs, no clock, no randomness): ``--check`` rebuilds every
committed file and compares. A committed dictionary is **frozen**: records were written with it
and must stay readable, so a better one is a new version (``<provider>-2.bin``) with a new
encoding name, and the old file stays (chalicelib/webhooks/dictionaries/__init__.py pins both).

Each version is rebuilt by its own *recipe* from its own inputs, both recorded when it is written
in :data:`MANIFEST` (``dictionary_inputs/manifest.json``): the recipe number, and the corpus files
it was built from (a corpus file added later does not change an old version), or for the payment
records' dictionary the documents themselves (they come from the normalizers and the fold, which
change: ``payments-1`` was built before the ledger details were normalized). Recipe 1 is the
skeleton above; recipe 2 (``paypal-2`` on) also keeps the shared segments of long URLs (PayPal's
HATEOAS ``links``) and ends with the provider's delivery headers' skeleton
(:data:`HEADER_SKELETONS`), for records that carry their headers in the payload's compressed value
(chalicelib/webhooks/encoding.py, ``WITH_HEADERS``).

    python -m providers_tooling.dictionaries --evaluate      # leave-one-out sizes, newest recipe
    python -m providers_tooling.dictionaries --write stripe  # writes <provider>-<next version>.bin
    python -m providers_tooling.dictionaries --write payments  # the payment records' dictionary
    python -m providers_tooling.dictionaries --check         # every committed file is reproducible
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
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
INPUTS = Path(__file__).resolve().parent / "dictionary_inputs"
MANIFEST = INPUTS / "manifest.json"
"""``{"<name>-<version>": {"recipe": n, "files": [corpus file names]} | {"recipe": n, "documents":
"<file in dictionary_inputs>"}}``: what each committed dictionary was built from, and how."""
NEWEST_RECIPE = 2
URL_SEGMENT = re.compile(r"(?<=[/?&=])")
"""Where recipe 2 cuts a long URL: after each ``/``, ``?``, ``&`` and ``=``."""
HEADER_SKELETONS: dict[str, tuple[dict[str, str], ...]] = {
    # What PayPal sends with a delivery, as the receiver stores it (chalicelib/webhooks/record.py
    # ``safe_headers``: names lower-cased, the signature and our edge's headers dropped), in
    # PayPal's order, with the values every delivery shares or starts with: the live and sandbox
    # certificate URLs (PayPal's developer docs; paypal/PayPal-Java-SDK ValidateCertTest.java) and
    # the rest as recorded from sandbox deliveries in public projects. Per-delivery values
    # (transmission id and time, correlation id, span id) are left empty, as in a payload skeleton.
    "paypal": (
        {"accept": "*/*", "paypal-transmission-id": "", "paypal-transmission-time": "",
         "paypal-auth-version": "v2",
         "paypal-cert-url": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-",
         "paypal-auth-algo": "SHA256withRSA", "content-type": "application/json", "user-agent": "PayPal/AUHD-214.0-",
         "correlation-id": "", "x-b3-spanid": "", "client_pid": ""},
        {"content-type": "application/json", "paypal-transmission-id": "", "paypal-transmission-time": "",
         "paypal-cert-url": "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-",
         "paypal-auth-algo": "SHA256withRSA", "user-agent": "PayPal/AUHD-214.0-"},
    ),
}
"""Recipe 2's header skeletons per provider, the most common last (nearest the data)."""


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
    """Recipe 1: the dictionary of ``payloads``: their skeletons, distinct, the most frequent last."""
    shared = shared_values(payloads)
    return _joined([json.dumps(skeleton(p, shared), separators=(",", ":"), ensure_ascii=False) for p in payloads])


def _joined(texts: Sequence[str], tail: str = "") -> bytes:
    counts = Counter(texts)
    # Rarest first, so the most common structure ends up nearest the data; ties by text, for
    # reproducibility.
    ordered = sorted(counts, key=lambda text: (counts[text], text))
    joined = ("".join(ordered) + tail).encode("utf-8")
    return joined[-MAX_BYTES:]


def url_segments(payloads: Sequence[Any]) -> set[str]:
    """Segments of the long URL values (``https://...``) that at least two of ``payloads`` contain."""
    counts: Counter[str] = Counter()
    for payload in payloads:
        found: set[str] = set()
        for value in scalars(payload):
            text = json.loads(value)
            if isinstance(text, str) and len(value) > MAX_KEPT_VALUE and text.startswith(("https://", "http://")):
                found.update(URL_SEGMENT.split(text))
        counts.update(found)
    return {segment for segment, n in counts.items() if n >= 2}


def skeleton_v2(node: Any, shared: set[str], segments: set[str]) -> Any:
    """:func:`skeleton`, but a long URL keeps the segments other payloads share and loses the rest
    (``https://api.paypal.com/v2/payments/captures//refund``): the id between is left out, its
    prefix and suffix are what the next event's links repeat."""
    if isinstance(node, dict):
        return {key: skeleton_v2(value, shared, segments) for key, value in node.items()}
    if isinstance(node, list):
        return [skeleton_v2(node[0], shared, segments)] if node else []
    if isinstance(node, str) and json.dumps(node) not in shared and node.startswith(("https://", "http://")):
        return "".join(segment for segment in URL_SEGMENT.split(node) if segment in segments)
    return skeleton(node, shared)


def build_v2(payloads: Sequence[Any], provider: str) -> bytes:
    """Recipe 2: recipe 1 with the shared URL segments kept, then the provider's header skeletons."""
    shared, segments = shared_values(payloads), url_segments(payloads)
    texts = [json.dumps(skeleton_v2(p, shared, segments), separators=(",", ":"), ensure_ascii=False)
             for p in payloads]
    tail = "".join(json.dumps(h, separators=(",", ":")) for h in HEADER_SKELETONS.get(provider, ()))
    return _joined(texts, tail)


Recipe = Callable[[Sequence[Any], str], bytes]
RECIPES: dict[int, Recipe] = {1: lambda payloads, _name: build(payloads), 2: build_v2}
"""Recipe number -> builder of ``(inputs, provider)``. Never change one that a committed file used."""


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
        zdict = RECIPES[NEWEST_RECIPE](others, provider) if others else None
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
    """The documents a new version of dictionary ``name`` (a provider, or :data:`PAYMENTS`) is built from."""
    return payment_documents() if name == PAYMENTS else [payload for _, payload in corpus(name)]


def providers() -> list[str]:
    return sorted(path.name for path in CORPUS.iterdir() if path.is_dir())


def committed(provider: str) -> list[Path]:
    return sorted(OUTPUT.glob(f"{provider}-*.bin"), key=lambda path: int(path.stem.rsplit("-", 1)[1]))


def manifest() -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = json.loads(MANIFEST.read_text())
    return entries


def rebuild(version: str, entry: dict[str, Any]) -> bytes:
    """Dictionary ``version`` (``paypal-2``) rebuilt from the inputs and recipe it was written with."""
    name = version.rsplit("-", 1)[0]
    if "documents" in entry:
        documents = json.loads((INPUTS / entry["documents"]).read_text())
    else:
        documents = [json.loads((CORPUS / name / file).read_text())["payload"] for file in entry["files"]]
    return RECIPES[entry["recipe"]](documents, name)


def write(name: str) -> str:
    """Write the next version of ``name`` with the newest recipe and record its inputs; what was done."""
    versions = committed(name)
    entry: dict[str, Any] = {"recipe": NEWEST_RECIPE}
    if name == PAYMENTS:
        documents = payment_documents()
        built = RECIPES[NEWEST_RECIPE](documents, name)
    else:
        entry["files"] = [file for file, _ in corpus(name)]
        built = rebuild(f"{name}-0", entry)
    if versions and versions[-1].read_bytes() == built:
        return f"{name}: unchanged ({versions[-1].name})"
    version = f"{name}-{len(versions) + 1}"
    if name == PAYMENTS:
        entry["documents"] = f"{version}.documents.json"
        (INPUTS / entry["documents"]).write_text(json.dumps(documents, separators=(",", ":"), ensure_ascii=False))
    path = OUTPUT / f"{version}.bin"
    path.write_bytes(built)
    entries = manifest()
    entries[version] = entry
    MANIFEST.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")
    return (f"{name}: wrote {path.relative_to(ROOT)} ({len(built)} B, sha256 {hashlib.sha256(built).hexdigest()}); "
            "pin it in chalicelib/webhooks/dictionaries/__init__.py")


def check() -> list[str]:
    """The committed dictionaries that their recorded recipe and inputs do not reproduce byte for
    byte, or that have no manifest entry."""
    entries = manifest()
    problems = []
    for path in sorted(OUTPUT.glob("*.bin")):
        entry = entries.get(path.stem)
        if entry is None:
            problems.append(f"{path.stem} (no manifest entry)")
        elif rebuild(path.stem, entry) != path.read_bytes():
            problems.append(path.stem)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluate", action="store_true", help="leave-one-out sizes per provider")
    parser.add_argument("--write", nargs="*", metavar="PROVIDER", help="write a new version for these providers")
    parser.add_argument("--check", action="store_true", help="every committed version is reproducible")
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
    for name in args.write or ():
        print(write(name))
    if args.check:
        stale = check()
        if stale:
            print(f"not reproducible from their recorded inputs: {', '.join(stale)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
