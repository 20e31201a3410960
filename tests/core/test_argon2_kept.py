"""Password checks through the hashing pool's kept-block path (cara_fed/argon2_kept.py) agree with argon2-cffi on
every hash it takes, hand every other hash to argon2-cffi, and stop the page faults that cost a log-in 13 ms of
system time in a process with the image-memory mmap threshold (checked in a separate process)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from argon2 import PasswordHasher, Type

from cara_fed import argon2_kept
from cara_fed.hashing import HashingPool

CASES = [
    PasswordHasher(time_cost=1, memory_cost=64, parallelism=1),
    PasswordHasher(time_cost=3, memory_cost=128, parallelism=2),
    PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1),  # our default costs
    PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, hash_len=16, salt_len=8),
]


@pytest.mark.parametrize("hasher", CASES, ids=lambda h: f"t{h.time_cost}-m{h.memory_cost}-p{h.parallelism}")
@pytest.mark.parametrize("password", ["correct horse 1", "", "ünïcødé ✓ pass", "x" * 200])
def test_agrees_with_argon2_cffi(hasher: PasswordHasher, password: str) -> None:
    stored = hasher.hash(password)
    assert argon2_kept.verify(stored, password) is True
    assert argon2_kept.verify(stored, password + "!") is False
    assert argon2_kept.verify(stored, password[:-1]) is (password[:-1] == password)


def test_other_hashes_are_left_to_argon2_cffi() -> None:
    password = "correct horse 1"
    argon2i = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, type=Type.I).hash(password)
    good = CASES[0].hash(password)
    head, salt, digest = good.rsplit("$", 2)
    for stored in [argon2i, good.replace("v=19", "v=16"), f"{head}$!!!$%{digest}", f"{head}${salt}", "", "$2b$12$x",
                   f"{head}$${digest}", good.replace("m=64", "m=abc")]:
        assert argon2_kept.verify(stored, password) is None, stored
    pool = HashingPool(workers=1)
    try:
        assert asyncio.run(pool.verify(argon2i, password)) is True  # argon2-cffi's verify, through the pool
        assert asyncio.run(pool.verify(argon2i, "wrong")) is False
        assert asyncio.run(pool.verify(f"{head}$!!!$%{digest}", password)) is False
        assert asyncio.run(pool.verify(None, password)) is False  # unknown account: a verify's work, False
    finally:
        pool.close()


FAULTS = r"""
import asyncio, resource
from cara_fed import memory
from cara_fed.hashing import HashingPool
memory.keep_big_allocations_returnable()  # as `serve` with its embedded worker does
pool = HashingPool(workers=1)
stored = asyncio.run(pool.hash("correct horse 1"))
async def logins(n):
    for _ in range(n):
        assert await pool.verify(stored, "correct horse 1")
asyncio.run(logins(2))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
asyncio.run(logins(6))
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 6)
"""


def test_a_verify_reuses_its_block_under_the_image_memory_threshold() -> None:
    out = subprocess.run([sys.executable, "-c", FAULTS], capture_output=True, text=True, check=True, timeout=120)
    faults = float(out.stdout.strip())
    assert faults < 500, f"{faults:.0f} page faults per verify (a fresh 19 MiB mapping is ~4,900)"
