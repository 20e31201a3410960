"""The inbox's own work per request, without HTTP: the envelope (JSON, depth, id/type/actor, contexts), the
Signature header parse and the full signature check (digest, date, RSA), per signed Create(Note) like
bench/inbox.py's, beside the RSA verification alone on the same requests (the ceiling), on one core.

What it leaves out (aiohttp, middlewares, the group commit) is measured by bench/inbox.py. To compare two
trees, run a copy of this file in each (it imports the tree it sits in), alternating. Usage:
    .venv/bin/python bench/inbox_accept.py [--requests 1000] [--passes 5]
"""

from __future__ import annotations

import argparse
import base64
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from multidict import CIMultiDict  # noqa: E402

from bench.inbox import INBOX_URL, _sign_chunk  # noqa: E402
from federation.inbound import verify as inbox_verify  # noqa: E402
from federation.inbound.inbox import _envelope  # noqa: E402
from federation.signatures import generate_key_pair  # noqa: E402
from federation.signatures.cavage import signing_string  # noqa: E402
from federation.signatures.keys import load_public_key, verify_any  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    keys = [generate_key_pair() for _ in range(2)]
    base = "http://remote.example"
    signed = _sign_chunk((INBOX_URL, base, keys, [i % 2 for i in range(args.requests)]))
    requests = [(CIMultiDict({**headers, "Host": "inbox-bench.example", "Content-Length": str(len(body))}), body)
                for headers, body in signed]
    pems = {f"{base}/users/actor{i}#main-key": public for i, (_, public) in enumerate(keys)}

    def inbox_work() -> None:
        for headers, body in requests:
            _envelope(body)
            sig = inbox_verify.read_signature("POST", INBOX_URL, headers)
            inbox_verify.check(sig, body, pems[sig.key_id])

    parsed = [inbox_verify.read_signature("POST", INBOX_URL, headers) for headers, _ in requests]
    rsa = [(load_public_key(pems[sig.key_id]), base64.b64decode(sig.sig.signature),
            signing_string(sig.msg, sig.sig).encode(), sig.key_id) for sig in parsed]

    def rsa_only() -> None:
        for key, raw, message, key_id in rsa:
            verify_any(["rsa-v1_5-sha256"], key, raw, message, key_id)

    def best(work) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(args.passes):
            started = time.process_time()
            work()
            times.append((time.process_time() - started) / len(requests) * 1e6)
        return min(times)

    ours, ceiling = best(inbox_work), best(rsa_only)
    print(f"{len(requests)} signed Create(Note), min of {args.passes} passes, CPU of one core:")
    print(f"  inbox work per request (envelope + signature parse + full check): {ours:.1f} us")
    print(f"  RSA verify alone (the ceiling): {ceiling:.1f} us; the rest of the inbox's work: {ours - ceiling:.1f} us")
    print(f"  ratio: {ours / ceiling:.2f} x the RSA verify")


if __name__ == "__main__":
    main()
