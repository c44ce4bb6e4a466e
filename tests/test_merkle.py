"""The ledger Merkle root: RFC 6962 shape, binding paths and contents."""

from __future__ import annotations

import hashlib

from pipeline.record.run_record import merkle_root


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _leaf(path: str, digest: str) -> bytes:
    return _h(b"\x00" + path.encode() + b"\x00" + bytes.fromhex(digest))


def test_three_leaves_follow_rfc6962_split() -> None:
    files = {f"ledger/part-{i:06d}.parquet": hashlib.sha256(bytes([i])).hexdigest() for i in range(3)}
    leaves = [_leaf(p, files[p]) for p in sorted(files)]
    expected = _h(b"\x01" + _h(b"\x01" + leaves[0] + leaves[1]) + leaves[2])
    assert merkle_root(files) == expected.hex()


def test_root_binds_every_path_and_digest() -> None:
    files = {f"ledger/part-{i:06d}.parquet": hashlib.sha256(bytes([i])).hexdigest() for i in range(5)}
    root = merkle_root(files)
    assert merkle_root(dict(reversed(files.items()))) == root
    edited = dict(files, **{"ledger/part-000003.parquet": hashlib.sha256(b"x").hexdigest()})
    renamed = {p.replace("000004", "000009"): d for p, d in files.items()}
    removed = {p: d for p, d in files.items() if not p.endswith("000002.parquet")}
    assert len({root, merkle_root(edited), merkle_root(renamed), merkle_root(removed)}) == 4
    assert merkle_root({}) == hashlib.sha256(b"").hexdigest()
