"""The corpus-wide pass of ``dedup.minhash``: one keeper per cluster of near duplicates.

The pipeline clusters documents whose MinHash band keys collide and whose estimated Jaccard
reaches the threshold (:class:`~detectors.passes.ClusterPass`); this module says what a cluster
means. Each cluster is named by its earliest member's doc id; its keeper is a released document
of an earlier run if one is in the cluster (so a new copy of released data points to it and the
policy can drop it), else the earliest, the longest or the best by ``quality_column``, as
configured; every other member points to the keeper with its estimated Jaccard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from detectors.dedup.signature_index import BITS, compact, expand, is_full, low_bits
from detectors.passes import ClusterPass

SIGNATURE = "dedup.minhash_sig"
BANDS = "dedup.minhash_bands"
NEAR_FIELDS = (
    pa.field("dedup.near_cluster", pa.string()),
    pa.field("dedup.near_dup_of", pa.string()),
    pa.field("dedup.near_jaccard", pa.float64()),
)
ATTRIBUTES = (pa.field("size", pa.int64()), pa.field("quality", pa.float64()))


def estimated_jaccard(first: bytes, second: bytes, num_perm: int) -> float:
    """The MinHash estimate of the Jaccard similarity: the share of equal signature positions.

    When either side is a released document stored in b-bit form (:mod:`.signature_index`), both
    are compared on their low bits, and the chance that two unequal values agree there (2^-b) is
    taken out: ``(matches / k - 2^-b) / (1 - 2^-b)``, the b-bit estimator.
    """
    if is_full(first, num_perm) and is_full(second, num_perm):
        left = np.frombuffer(first, dtype=np.uint32)
        right = np.frombuffer(second, dtype=np.uint32)
        return float(np.count_nonzero(left == right)) / num_perm
    share = float(np.count_nonzero(low_bits(first, num_perm) == low_bits(second, num_perm))) / num_perm
    chance = 2.0**-BITS
    return max(0.0, (share - chance) / (1.0 - chance))


@dataclass(frozen=True)
class NearDuplicateClusters(ClusterPass):
    """Cluster, keeper and similarity of every near duplicate; see the module doc."""

    keeper: str = "earliest"
    quality_column: str = ""
    num_perm: int = 512
    seed: int = 1
    lsh: tuple[int, int] = (42, 12)
    """(bands, rows) of the band keys, to recompute those of index rows stored without them."""

    def similarity(self, first: bytes, second: bytes) -> float:
        return estimated_jaccard(first, second, self.num_perm)

    def to_index(self, signatures: pa.Array, bands: pa.Array) -> tuple[pa.Array, pa.Array]:
        return compact(signatures, bands, self.num_perm, self.seed)

    def from_index(self, signatures: pa.Array, bands: pa.Array) -> tuple[pa.Array, pa.Array]:
        return expand(signatures, bands, self.num_perm, self.seed, self.lsh)

    def attributes_of(self, rows: pa.Table) -> list[pa.Array]:
        quality = (
            pc.cast(rows[self.quality_column], pa.float64()).combine_chunks()
            if self.quality_column in rows.column_names
            else pa.nulls(rows.num_rows, pa.float64())
        )
        return [pc.utf8_length(rows["text"]).cast(pa.int64()).combine_chunks(), quality]

    def _rank(self, member: dict[str, Any]) -> tuple:
        if member["released"]:
            return (0, member["ordinal"])
        if self.keeper == "longest":
            return (1, -member["size"], member["ordinal"])
        if self.keeper == "quality":
            return (1, -(member["quality"] if member["quality"] is not None else -1.0), member["ordinal"])
        return (1, member["ordinal"])

    def resolve(self, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keeper = min(members, key=self._rank)
        cluster_id = min(members, key=lambda m: m["ordinal"])["doc_id"]
        rows = []
        for member in members:
            is_keeper = member["ordinal"] == keeper["ordinal"]
            rows.append(
                {
                    "ordinal": member["ordinal"],
                    "dedup.near_cluster": cluster_id,
                    "dedup.near_dup_of": None if is_keeper else keeper["doc_id"],
                    "dedup.near_jaccard": None
                    if is_keeper
                    else round(self.similarity(member["signature"], keeper["signature"]), 4),
                }
            )
        return rows
