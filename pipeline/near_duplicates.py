"""Near-duplicate clustering as a global stage, on any engine.

1. Every document with a MinHash signature is emitted once per LSH band key.
2. Documents sharing a band key meet in one group and become candidate pairs; each pair then
   meets both signatures (two keyed joins) and becomes an edge only if the estimated Jaccard of
   the full signatures reaches the threshold, so false positives of the banding never merge
   clusters.
3. Connected components of the edge list by alternating large-star and small-star rounds
   (Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014). Each round is a
   ``group_by_key`` on the edge list; the driver only reads a checksum of the edges to see when
   they stop changing. Every component ends as a star around its smallest ordinal.
4. Members are joined with their size, quality and signature (a ``group_by_key`` on ordinal),
   each cluster picks its keeper by the configured rule, and the annotations are joined back
   onto the documents the same way.

Documents from earlier runs' signature indexes take part with negative ordinals: they sort
first and are always chosen as keepers, so a new document that repeats released data points to
the released document and the policy can drop it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from detectors.dedup.minhash import MinHashDetector, estimated_jaccard
from pipeline.engines.base import Engine
from pipeline.stages import INDEX_SCHEMA, MINHASH_BANDS, MINHASH_SIG, conform, extend_schema, iter_groups

NEAR_FIELDS = [
    pa.field("dedup.near_cluster", pa.string()),
    pa.field("dedup.near_dup_of", pa.string()),
    pa.field("dedup.near_jaccard", pa.float64()),
]
BAND_SCHEMA = pa.schema([("band_key", pa.string()), ("ordinal", pa.int64())])
VERIFY_SCHEMA = pa.schema(
    [("key", pa.int64()), ("other", pa.int64()), ("sig", pa.binary()), ("other_sig", pa.binary())]
)
EDGE_SCHEMA = pa.schema([("u", pa.int64()), ("v", pa.int64())])
CHECKSUM_SCHEMA = pa.schema([("edges", pa.int64()), ("digest", pa.int64())])
MEMBER_SCHEMA = pa.schema(
    [("ordinal", pa.int64()), ("root", pa.int64()), ("doc_id", pa.string()), ("size", pa.int64()),
     ("quality", pa.float64()), ("sig", pa.binary()), ("released", pa.bool_())]
)  # fmt: skip
ALL_PAIRS_LIMIT = 64  # buckets up to this size compare all pairs; larger ones compare each to the first


@dataclass(frozen=True)
class BandRowsStage:
    """One row per (band key, document) for documents that have a signature."""

    in_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        table = table.filter(pc.is_valid(table[MINHASH_SIG]))
        bands = table[MINHASH_BANDS].combine_chunks()
        parents = pc.list_parent_indices(bands)
        rows = pa.table(
            {
                "band_key": pc.list_flatten(bands),
                "ordinal": pc.take(table["ordinal"], parents),
            }
        )
        return conform(rows, BAND_SCHEMA)


@dataclass(frozen=True)
class CandidatePairsStage:
    """Unverified candidate pairs (smaller ordinal first) of documents sharing a band key.

    Band rows carry no signatures (a signature per band would multiply the shuffled bytes by the
    band count); pairs are verified after they meet their two signatures.
    """

    def __call__(self, groups: pa.Table) -> pa.Table:
        us: list[int] = []
        vs: list[int] = []
        table = conform(groups, BAND_SCHEMA)
        # nearly every band key is held by one document: drop those before splitting into groups
        counts = table.group_by("band_key").aggregate([("ordinal", "count")])
        shared = counts.filter(pc.greater(counts["ordinal_count"], 1))["band_key"].combine_chunks()
        for bucket in iter_groups(table.filter(pc.is_in(table["band_key"], value_set=shared)), "band_key"):
            ordinals = bucket.column("ordinal").to_pylist()
            firsts = range(len(ordinals)) if len(ordinals) <= ALL_PAIRS_LIMIT else range(1)
            for i in firsts:
                for j in range(i + 1, len(ordinals)):
                    if ordinals[i] != ordinals[j]:
                        us.append(ordinals[i])
                        vs.append(ordinals[j])
        return with_nulls(
            {"key": pa.array(us, pa.int64()), "other": pa.array(vs, pa.int64())}, VERIFY_SCHEMA, len(us)
        )


@dataclass(frozen=True)
class SignatureRowsStage:
    """Each document's signature as a verification row keyed by its ordinal."""

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, MEMBER_SCHEMA)
        return with_nulls({"key": table["ordinal"], "sig": table["sig"]}, VERIFY_SCHEMA, table.num_rows)


@dataclass(frozen=True)
class VerifyStage:
    """Verify candidate pairs by estimated Jaccard, meeting each end's signature in turn.

    First pass (groups keyed by the pair's first document): each distinct pair picks up that
    document's signature and is re-keyed by the second. Second pass: the pair meets the second
    signature and becomes an edge if the estimated Jaccard reaches the threshold.
    """

    threshold: float
    final: bool

    def __call__(self, groups: pa.Table) -> pa.Table:
        table = conform(groups, VERIFY_SCHEMA)
        is_pair = pc.is_valid(table["other"])
        signatures = table.filter(pc.invert(is_pair))
        pairs = table.filter(is_pair)
        own = dict(zip(signatures["key"].to_pylist(), signatures["sig"].to_pylist(), strict=True))
        keys, others, carried = [], [], []
        for key, other, other_sig in sorted(
            set(
                zip(
                    pairs["key"].to_pylist(),
                    pairs["other"].to_pylist(),
                    pairs["other_sig"].to_pylist(),
                    strict=True,
                )
            )
        ):
            sig = own.get(key)
            if sig is None:
                continue
            if not self.final:
                keys.append(other)
                others.append(key)
                carried.append(sig)
            elif estimated_jaccard(sig, other_sig) >= self.threshold:
                keys.append(min(key, other))
                others.append(max(key, other))
        if self.final:
            return pa.table({"u": pa.array(keys, pa.int64()), "v": pa.array(others, pa.int64())})
        columns = {
            "key": pa.array(keys, pa.int64()),
            "other": pa.array(others, pa.int64()),
            "other_sig": pa.array(carried, pa.binary()),
        }
        return with_nulls(columns, VERIFY_SCHEMA, len(keys))


@dataclass(frozen=True)
class BothDirectionsStage:
    """Each edge as (u, v) and (v, u), so that a node's group sees all its neighbours."""

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, EDGE_SCHEMA)
        return pa.table(
            {"u": pa.concat_arrays([table["u"].combine_chunks(), table["v"].combine_chunks()]),
             "v": pa.concat_arrays([table["v"].combine_chunks(), table["u"].combine_chunks()])}
        )  # fmt: skip


@dataclass(frozen=True)
class LargerFirstStage:
    """Each edge as (larger, smaller): small-star looks only at a node's smaller neighbours."""

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, EDGE_SCHEMA)
        return pa.table(
            {
                "u": pc.max_element_wise(table["u"], table["v"]),
                "v": pc.min_element_wise(table["u"], table["v"]),
            }
        )


@dataclass(frozen=True)
class StarStage:
    """Large-star (link larger neighbours to the local minimum) or small-star (link the node and
    its smaller neighbours to their minimum); both keep components and shrink their depth."""

    large: bool

    def __call__(self, groups: pa.Table) -> pa.Table:
        us: list[int] = []
        vs: list[int] = []
        table = conform(groups, EDGE_SCHEMA)
        for group in iter_groups(table.append_column("ordinal", table["v"]), "u"):
            node = group["u"][0].as_py()
            neighbours = set(group["v"].to_pylist())
            smallest = min(neighbours | {node})
            targets = {v for v in neighbours if v > node} if self.large else (neighbours | {node})
            for target in sorted(targets):
                if target != smallest:
                    us.append(target)
                    vs.append(smallest)
        return pa.table({"u": pa.array(us, pa.int64()), "v": pa.array(vs, pa.int64())})


@dataclass(frozen=True)
class ChecksumStage:
    """Edge count and an order-independent digest of the edges, to detect convergence."""

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, EDGE_SCHEMA)
        digest = 0
        for u, v in zip(table["u"].to_pylist(), table["v"].to_pylist(), strict=True):
            digest ^= int.from_bytes(hashlib.blake2b(f"{u},{v}".encode(), digest_size=7).digest())
        return pa.table({"edges": [table.num_rows], "digest": [digest]}, schema=CHECKSUM_SCHEMA)


def _checksum(engine: Engine, edges: object) -> tuple[int, int]:
    rows = engine.collect(
        engine.map_batches(edges, ChecksumStage(), CHECKSUM_SCHEMA, "near-dup check"), CHECKSUM_SCHEMA
    )
    digest = 0
    for value in rows["digest"].to_pylist():
        digest ^= value
    return sum(rows["edges"].to_pylist()), digest


def connected_components(engine: Engine, edges: object, max_rounds: int = 64) -> object:
    """Alternate large-star and small-star until the edge list stops changing: then every edge
    is (member, smallest ordinal of its component)."""
    previous = _checksum(engine, edges)
    for _ in range(max_rounds):
        both = engine.map_batches(edges, BothDirectionsStage(), EDGE_SCHEMA, "near-dup edges")
        edges = engine.group_by_key(both, "u", StarStage(large=True), EDGE_SCHEMA, "near-dup large-star")
        ordered = engine.map_batches(edges, LargerFirstStage(), EDGE_SCHEMA, "near-dup edges")
        edges = engine.materialize(
            engine.group_by_key(ordered, "u", StarStage(large=False), EDGE_SCHEMA, "near-dup small-star")
        )
        current = _checksum(engine, edges)
        if current == previous:
            return edges
        previous = current
    raise RuntimeError(f"near-duplicate components did not converge in {max_rounds} rounds")


INDEX_UNIT_SCHEMA = pa.schema([("index", pa.int64()), ("path", pa.string())])
RELEASED_SCHEMA = extend_schema(INDEX_SCHEMA, [pa.field("ordinal", pa.int64())])


def released_ordinal(file_index: int, row: int) -> int:
    """Negative, unique and ordered ordinals for documents of earlier runs' indexes."""
    return -(((file_index << 40) | row) + 1)


@dataclass(frozen=True)
class ReleasedRowsStage:
    """Read earlier runs' index files, each row with its released ordinal (a ``read`` function)."""

    def __call__(self, units: pa.Table) -> Iterator[pa.Table]:
        for unit in conform(units, INDEX_UNIT_SCHEMA).to_pylist():
            index = pq.read_table(unit["path"]).cast(INDEX_SCHEMA)
            ordinals = pa.array(
                [released_ordinal(unit["index"], row) for row in range(index.num_rows)], pa.int64()
            )
            yield conform(index.append_column("ordinal", ordinals), RELEASED_SCHEMA)


@dataclass(frozen=True)
class ReleasedBandsStage:
    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, RELEASED_SCHEMA)
        bands = table["bands"].combine_chunks()
        parents = pc.list_parent_indices(bands)
        rows = pa.table(
            {"band_key": pc.list_flatten(bands), "ordinal": pc.take(table["ordinal"], parents)}
        )  # fmt: skip
        return conform(rows, BAND_SCHEMA)


def with_nulls(columns: dict[str, pa.Array | pa.ChunkedArray], schema: pa.Schema, rows: int) -> pa.Table:
    """A table of ``schema`` from the given columns, every other column null."""
    return pa.Table.from_pydict(
        {f.name: columns[f.name] if f.name in columns else pa.nulls(rows, f.type) for f in schema},
        schema=schema,
    )


def _member_rows(ordinals: pa.Array, **columns: pa.Array) -> pa.Table:
    return with_nulls({"ordinal": ordinals, **columns}, MEMBER_SCHEMA, len(ordinals))


@dataclass(frozen=True)
class ReleasedAttributesStage:
    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, RELEASED_SCHEMA)
        n = table.num_rows
        return _member_rows(
            table["ordinal"].combine_chunks(), doc_id=table["doc_id"].combine_chunks(),
            size=pa.array([0] * n, pa.int64()), sig=table["sig"].combine_chunks(),
            released=pa.array([True] * n, pa.bool_()),
        )  # fmt: skip


@dataclass(frozen=True)
class AttributesStage:
    """What keeper choice and similarity need of each document with a signature."""

    in_schema: pa.Schema
    quality_column: str

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        table = table.filter(pc.is_valid(table[MINHASH_SIG]))
        quality = (
            pc.cast(table[self.quality_column], pa.float64()).combine_chunks()
            if self.quality_column in table.column_names
            else pa.nulls(table.num_rows, pa.float64())
        )
        return _member_rows(
            table["ordinal"].combine_chunks(), doc_id=table["doc_id"].combine_chunks(),
            size=pc.utf8_length(table["text"]).cast(pa.int64()).combine_chunks(), quality=quality,
            sig=table[MINHASH_SIG].combine_chunks(), released=pa.array([False] * table.num_rows, pa.bool_()),
        )  # fmt: skip


@dataclass(frozen=True)
class MembershipStage:
    """Component edges (member, root) as member rows for both ends."""

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, EDGE_SCHEMA)
        ordinals = pa.concat_arrays([table["u"].combine_chunks(), table["v"].combine_chunks()])
        roots = pa.concat_arrays([table["v"].combine_chunks(), table["v"].combine_chunks()])
        return _member_rows(ordinals, root=roots)


@dataclass(frozen=True)
class AttachRootStage:
    """Per ordinal: the attribute row gets the component root, if the document has one."""

    def __call__(self, groups: pa.Table) -> pa.Table:
        table = conform(groups, MEMBER_SCHEMA)
        roots = (
            table.filter(pc.is_valid(table["root"]))
            .select(["ordinal", "root"])
            .group_by("ordinal")
            .aggregate([("root", "min")])
        )
        attributes = table.filter(pc.is_valid(table["doc_id"])).drop_columns(["root"])
        joined = attributes.join(roots.rename_columns(["ordinal", "root"]), keys="ordinal", join_type="inner")
        return conform(joined, MEMBER_SCHEMA)


NEAR_SCHEMA = pa.schema([pa.field("ordinal", pa.int64()), *NEAR_FIELDS])


@dataclass(frozen=True)
class KeeperStage:
    """Choose each cluster's keeper and say, for every other member, whom it duplicates and how closely."""

    keeper: str

    def _rank(self, member: dict) -> tuple:
        if member["released"]:
            return (0, member["ordinal"])
        if self.keeper == "longest":
            return (1, -member["size"], member["ordinal"])
        if self.keeper == "quality":
            return (1, -(member["quality"] if member["quality"] is not None else -1.0), member["ordinal"])
        return (1, member["ordinal"])

    def __call__(self, groups: pa.Table) -> pa.Table:
        rows: list[dict] = []
        for cluster in iter_groups(conform(groups, MEMBER_SCHEMA), "root"):
            members = cluster.to_pylist()
            keeper = min(members, key=self._rank)
            cluster_id = min(members, key=lambda m: m["ordinal"])["doc_id"]
            for member in members:
                if member["ordinal"] < 0:
                    continue  # released documents are evidence, not part of this run
                is_keeper = member["ordinal"] == keeper["ordinal"]
                rows.append(
                    {
                        "ordinal": member["ordinal"],
                        "dedup.near_cluster": cluster_id,
                        "dedup.near_dup_of": None if is_keeper else keeper["doc_id"],
                        "dedup.near_jaccard": None
                        if is_keeper
                        else round(estimated_jaccard(member["sig"], keeper["sig"]), 4),
                    }
                )
        return pa.Table.from_pylist(rows, schema=NEAR_SCHEMA)


@dataclass(frozen=True)
class WidenStage:
    """Documents, or near-duplicate annotations, as rows of the merged schema (the rest null)."""

    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        return with_nulls({name: table[name] for name in table.column_names}, self.out_schema, table.num_rows)


@dataclass(frozen=True)
class MergeStage:
    """Per ordinal: put the annotation row's values onto the document row."""

    in_schema: pa.Schema
    out_schema: pa.Schema

    def __call__(self, groups: pa.Table) -> pa.Table:
        table = conform(groups, self.in_schema)
        is_doc = pc.is_valid(table["doc_id"])
        docs = table.filter(is_doc).drop_columns([f.name for f in NEAR_FIELDS])
        near = table.filter(pc.invert(is_doc))
        # a lookup, not Table.join: Arrow's join cannot carry list columns (the band keys)
        positions = pc.index_in(docs["ordinal"], value_set=near["ordinal"].combine_chunks())
        for field in NEAR_FIELDS:
            docs = docs.append_column(field, pc.take(near[field.name], positions))
        return conform(docs, self.out_schema)


def cluster_near_duplicates(
    engine: Engine, dataset: object, schema: pa.Schema, detector: MinHashDetector, previous: list[Path]
) -> tuple[object, pa.Schema]:
    """Annotate every near-duplicate with its cluster, keeper and similarity; see the module doc."""
    dataset = engine.materialize(dataset)  # read three times below; computed once
    bands = engine.map_batches(dataset, BandRowsStage(schema), BAND_SCHEMA, "near-dup bands")
    attributes = engine.map_batches(
        dataset, AttributesStage(schema, detector.params.quality_column), MEMBER_SCHEMA, "near-dup attributes"
    )
    if previous:
        units = pa.table(
            {"index": list(range(len(previous))), "path": [str(p) for p in previous]},
            schema=INDEX_UNIT_SCHEMA,
        )
        released = engine.materialize(
            engine.read(units, ReleasedRowsStage(), RELEASED_SCHEMA, "released index")
        )
        bands = engine.union(
            bands, engine.map_batches(released, ReleasedBandsStage(), BAND_SCHEMA, "released bands")
        )
        attributes = engine.union(
            attributes,
            engine.map_batches(released, ReleasedAttributesStage(), MEMBER_SCHEMA, "released attributes"),
        )
    attributes = engine.materialize(attributes)
    signature_rows = engine.map_batches(
        attributes, SignatureRowsStage(), VERIFY_SCHEMA, "near-dup signatures"
    )
    candidates = engine.group_by_key(
        bands, "band_key", CandidatePairsStage(), VERIFY_SCHEMA, "near-dup pairs"
    )
    threshold = detector.params.threshold
    halfway = engine.group_by_key(
        engine.union(candidates, signature_rows),
        "key",
        VerifyStage(threshold, final=False),
        VERIFY_SCHEMA,
        "near-dup verify",
    )
    edges = engine.materialize(
        engine.group_by_key(
            engine.union(halfway, signature_rows),
            "key",
            VerifyStage(threshold, final=True),
            EDGE_SCHEMA,
            "near-dup verify",
        )
    )
    components = connected_components(engine, edges)
    membership = engine.map_batches(components, MembershipStage(), MEMBER_SCHEMA, "near-dup members")
    members = engine.group_by_key(
        engine.union(attributes, membership), "ordinal", AttachRootStage(), MEMBER_SCHEMA, "near-dup join"
    )
    near = engine.group_by_key(
        members, "root", KeeperStage(detector.params.keeper), NEAR_SCHEMA, "near-dup keepers"
    )
    out_schema = extend_schema(schema, NEAR_FIELDS)
    wide = pa.schema([field.with_nullable(True) for field in out_schema])  # annotation rows have no doc_id
    merged = engine.union(
        engine.map_batches(dataset, WidenStage(schema, wide), wide, "near-dup widen"),
        engine.map_batches(near, WidenStage(NEAR_SCHEMA, wide), wide, "near-dup widen"),
    )
    merge = MergeStage(wide, out_schema)
    return engine.group_by_key(merged, "ordinal", merge, out_schema, "near-dup merge"), out_schema
