"""argon2id verification into a memory block each hashing thread keeps (issue 15: the login storm).

argon2id at our costs needs a 19 MiB block per verify. argon2-cffi has the C library allocate it and free it
again; in `serve` with its embedded worker, glibc's mmap threshold is pinned at 1 MiB (cara_fed/memory.py, so
decoded images go back to the system), so every verify got a fresh mapping and touched it page by page: about
4,900 page faults and 13 ms of system time per log-in, on top of ~20 ms of hashing. Here argon2's own context
API is given an allocator that hands each thread the same block every time (argon2 wipes it before "freeing").

Only well-formed argon2id hashes of version 19 take this path; anything else answers None and the caller uses
argon2-cffi's verify. Built on `_argon2_cffi_bindings` (argon2-cffi's own C bindings: the `argon2_context`
struct and `argon2_ctx`), pinned in pyproject.toml because the struct may change between releases; the result
is checked against argon2-cffi's verify in tests/core/test_argon2_kept.py.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from typing import Any

from _argon2_cffi_bindings import ffi, lib
from argon2 import Type, extract_parameters
from argon2.exceptions import InvalidHashError

_kept = threading.local()


@ffi.callback("int(uint8_t **, size_t)")
def _allocate(memory: Any, size: int) -> int:
    block = getattr(_kept, "block", None)
    if block is None or len(block) < size:
        block = _kept.block = ffi.new("uint8_t[]", size)
    memory[0] = block
    return lib.ARGON2_OK


@ffi.callback("void(uint8_t *, size_t)")
def _keep(memory: Any, size: int) -> None:
    """argon2 has wiped the block; it stays with the thread for its next verify."""


def _unpadded_b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def verify(encoded: str, password: str) -> bool | None:
    """Whether `password` matches the argon2id hash `encoded`; None when this path does not handle the hash (not
    argon2id v19, or malformed): the caller then asks argon2-cffi."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[1] != "argon2id" or parts[2] != "v=19":
        return None
    try:
        params = extract_parameters(encoded)
        salt, expected = _unpadded_b64(parts[4]), _unpadded_b64(parts[5])
    except (InvalidHashError, ValueError, binascii.Error):
        return None
    if params.type is not Type.ID or not expected or len(salt) < 8:
        return None
    secret = password.encode()
    out = ffi.new("uint8_t[]", len(expected))
    pwd, csalt = ffi.new("uint8_t[]", secret), ffi.new("uint8_t[]", salt)
    context = ffi.new("argon2_context *", {
        "out": out, "outlen": len(expected), "pwd": pwd, "pwdlen": len(secret), "salt": csalt,
        "saltlen": len(salt), "secret": ffi.NULL, "secretlen": 0, "ad": ffi.NULL, "adlen": 0,
        "t_cost": params.time_cost, "m_cost": params.memory_cost, "lanes": params.parallelism,
        "threads": params.parallelism, "version": params.version, "allocate_cbk": _allocate, "free_cbk": _keep,
        "flags": lib.ARGON2_DEFAULT_FLAGS})
    if lib.argon2_ctx(context, Type.ID.value) != lib.ARGON2_OK:
        return None
    return hmac.compare_digest(bytes(ffi.buffer(out, len(expected))), expected)
