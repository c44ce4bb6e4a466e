"""The compact form of released signatures, as a run's ``index/`` stores them for later runs.

A full signature is ``4 * num_perm`` bytes (2 KiB at 512 permutations) and its band keys
another ``8 * bands``: more than most documents' text. Each document is stored in whichever of
two forms is smaller:

* **minima** (lossless): with affine32 every permutation is a bijection, so each signature value
  names the one pre-mixed shingle hash that produced it, ``x = (value - b) * a^-1 mod 2^32``.
  The distinct ``x`` (at most the document's shingle count) are stored as uint32 and no band
  keys: a later run recomputes the exact signature, ``min over x of a * x + b``, and its bands.
  Short documents, most of a web or chat corpus, are stored this way.
* **b-bit** (Li and Koenig, "b-Bit Minwise Hashing", WWW 2010): the low ``BITS`` bits of each
  value, plus the exact band keys, so a later run finds the same candidates; their similarity
  is the b-bit estimate (:func:`detectors.dedup.near_clusters.estimated_jaccard`).

A row without band keys holds the minima form; a row with band keys the b-bit form.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa

from detectors.dedup.sketch import band_hashes, min_permuted, permutations

BITS = 8
BANDS_TYPE = pa.list_(pa.int64())


@cache
def _inverse(num_perm: int, seed: int) -> np.ndarray:
    """``a^-1 mod 2^32`` of every permutation (``a`` is odd, so it exists)."""
    a, _ = permutations(num_perm, seed)
    return np.array([pow(int(value), -1, 1 << 32) for value in a], dtype=np.uint32)


def compact(signatures: pa.Array, bands: pa.Array, num_perm: int, seed: int) -> tuple[pa.Array, pa.Array]:
    """Full signatures (binary, ``4 * num_perm`` bytes) and band keys as the index stores them."""
    sigs = np.frombuffer(b"".join(signatures.to_pylist()), dtype=np.uint32).reshape(-1, num_perm)
    _, b = permutations(num_perm, seed)
    minima = np.sort((sigs - b[None, :]) * _inverse(num_perm, seed)[None, :], axis=1)
    distinct = np.ones(minima.shape, dtype=bool)
    distinct[:, 1:] = minima[:, 1:] != minima[:, :-1]
    counts = distinct.sum(axis=1)
    band_lists = bands.to_pylist()
    b_bit_bytes = num_perm * BITS // 8 + 8 * len(band_lists[0]) if band_lists else 0
    low_bits = sigs.astype(np.uint8)  # the low 8 bits of each value
    sig_values: list[bytes] = []
    band_values: list[list[int] | None] = []
    for row, count in enumerate(counts):
        if 4 * count <= b_bit_bytes:
            sig_values.append(minima[row][distinct[row]].tobytes())
            band_values.append(None)
        else:
            sig_values.append(low_bits[row].tobytes())
            band_values.append(band_lists[row])
    return pa.array(sig_values, pa.binary()), pa.array(band_values, BANDS_TYPE)


def expand(
    signatures: pa.Array, bands: pa.Array, num_perm: int, seed: int, lsh: tuple[int, int]
) -> tuple[pa.Array, pa.Array]:
    """Index rows back to what clustering needs: exact full signatures and band keys for the
    minima form, the b-bit signature and its stored band keys for the other.

    ValueError if a b-bit row does not fit ``num_perm`` and ``lsh``: the index was written with
    other MinHash parameters, whose signatures cannot be compared with this run's.
    """
    sig_values = signatures.to_pylist()
    band_values = bands.to_pylist()
    exact = [row for row, keys in enumerate(band_values) if keys is None]
    for row, keys in enumerate(band_values):
        if keys is not None and (len(sig_values[row]) != num_perm * BITS // 8 or len(keys) != lsh[0]):
            raise ValueError(
                f"signature index row {row} was written with other MinHash parameters "
                f"(num_perm {num_perm}, {lsh[0]} bands expected)"
            )
    if exact:
        mixed = [np.frombuffer(sig_values[row], dtype=np.uint32) for row in exact]
        lengths = np.array([len(values) for values in mixed], dtype=np.int64)
        full = min_permuted(np.concatenate(mixed), lengths, num_perm, seed)
        keys = band_hashes(full, *lsh)
        for position, row in enumerate(exact):
            sig_values[row] = full[position].tobytes()
            band_values[row] = keys[position].tolist()
    return pa.array(sig_values, pa.binary()), pa.array(band_values, BANDS_TYPE)


def is_full(signature: bytes, num_perm: int) -> bool:
    """Whether a signature holds all 32 bits of each value (else it is a b-bit one)."""
    return len(signature) == 4 * num_perm


def low_bits(signature: bytes, num_perm: int) -> np.ndarray:
    """The b-bit values of a full or a b-bit signature."""
    if is_full(signature, num_perm):
        return np.frombuffer(signature, dtype=np.uint32).astype(np.uint8)
    return np.frombuffer(signature, dtype=np.uint8)
