"""MinHash arithmetic on whole arrays: permutations, signatures, LSH band keys.

Signatures follow datasketch's ``affine32`` scheme: each shingle hash is pre-mixed once with the
MurmurHash3 finaliser, then permuted as ``a * x + b`` modulo 2^32 with ``a`` odd (so every
permutation is a bijection, which :mod:`detectors.dedup.signature_index` relies on), ``a, b``
drawn from datasketch's seeded generator. The values are bit-identical to
``datasketch.MinHash(num_perm, seed, hashfunc=xxh32)``; only the layout differs: the pre-mixed
hashes of a whole batch are permuted in blocks of ``(shingles, num_perm)`` and each document's
minimum taken with one ``np.minimum.reduceat`` per block.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _optimal_param

_BLOCK = 256  # shingles per step: a 256 x 512 uint32 block (512 KiB) stays in the L2 cache
_MIX = np.uint64(0x9E3779B97F4A7C15)
_FINAL = np.uint64(0xFF51AFD7ED558CCD)
MAX_HASH = np.iinfo(np.uint32).max


@cache
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives plus false negatives at ``threshold``, as datasketch does."""
    return _optimal_param(threshold, num_perm, 0.5, 0.5)


@cache
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's ``affine32`` parameters ``(a, b)``, each ``(num_perm,)`` uint32, ``a`` odd."""
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def fmix32(values: np.ndarray) -> np.ndarray:
    """The MurmurHash3 32-bit finaliser, which affine32 applies to every hash before permuting."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def min_permuted(mixed: np.ndarray, lengths: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """``(documents, num_perm)`` signatures from pre-mixed hashes, document after document.

    ``mixed`` holds every document's pre-mixed hashes back to back, ``lengths`` how many each
    has; a document with none gets the all-max signature (datasketch's empty MinHash). Blocks
    may split a document: its partial minima are folded into the result with ``np.minimum``.
    """
    a, b = permutations(num_perm, seed)
    result = np.full((len(lengths), num_perm), MAX_HASH, dtype=np.uint32)
    owner = np.repeat(np.arange(len(lengths)), lengths)
    block = np.empty((_BLOCK, num_perm), dtype=np.uint32)
    for start in range(0, len(mixed), _BLOCK):
        end = min(start + _BLOCK, len(mixed))
        permuted = block[: end - start]
        np.multiply(mixed[start:end, None], a[None, :], out=permuted)
        permuted += b
        docs = owner[start:end]
        firsts = np.flatnonzero(np.concatenate([[True], docs[1:] != docs[:-1]]))
        minima = np.minimum.reduceat(permuted, firsts, axis=0)
        ids = docs[firsts]
        result[ids] = np.minimum(result[ids], minima)
    return result


def band_tags(bands: int) -> np.ndarray:
    """One constant per band, mixed into its hash, so equal rows in two bands never share a key."""
    with np.errstate(over="ignore"):
        return np.arange(1, bands + 1, dtype=np.uint64) * _MIX


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(documents, bands)`` int64 band keys: a 64-bit hash of each band's rows, tagged by band.

    A collision only adds a candidate pair, and every candidate is verified against the
    signatures, so a fast non-cryptographic mix is enough. Signed, because Spark has no uint64.
    """
    with np.errstate(over="ignore"):
        hashes = np.zeros((signatures.shape[0], bands), dtype=np.uint64)
        for row in range(rows):
            column = signatures[:, row : bands * rows : rows].astype(np.uint64)
            hashes = (hashes ^ column) * _MIX
        hashes ^= hashes >> np.uint64(33)
        hashes *= _FINAL
        hashes ^= hashes >> np.uint64(33)
        return (hashes ^ band_tags(bands)[None, :]).view(np.int64)
