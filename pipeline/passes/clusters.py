"""Cluster passes on an engine: documents linked by shared band keys and verified similarity.

The pass (:class:`~detectors.passes.ClusterPass`) names its signature and band-key columns, its
similarity and threshold, and how a cluster's members are annotated; this module does the rest.

1. Every document with a signature is emitted once per band key.
2. Documents sharing a band key meet in one group and become candidate pairs; each pair then
   meets both signatures (two keyed joins) and becomes an edge only if the pass's similarity of
   the full signatures reaches the threshold, so false positives of the banding never merge
   clusters.
3. Connected components of the edge list by alternating large-star and small-star rounds
   (Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014). Each round is a
   ``group_by_key`` on the edge list; the driver only reads a checksum of the edges to see when
   they stop changing. Every component ends as a star around its smallest ordinal.
4. Members are joined with their signature and the pass's attributes (a ``group_by_key`` on
   ordinal), the pass resolves each cluster, and the annotations are joined back onto the
   documents the same way.

Documents from earlier runs' signature indexes take part with negative ordinals and
``released`` true; they are never annotated themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from detectors.passes import ClusterPass
from pipeline.engines.base import Engine
from pipeline.layout import INDEX_DIR, INDEX_SCHEMA
from pipeline.tables import conform, extend_schema, iter_groups, with_nulls

BAND_SCHEMA = pa.schema([("band_key", pa.int64()), ("ordinal", pa.int64())])
VERIFY_SCHEMA = pa.schema(
    [("key", pa.int64()), ("other", pa.int64()), ("sig", pa.binary()), ("other_sig", pa.binary())]
)
EDGE_SCHEMA = pa.schema([("u", pa.int64()), ("v", pa.int64())])
CHECKSUM_SCHEMA = pa.schema([("edges", pa.int64()), ("digest", pa.int64())])
MEMBER_FIELDS = [
    pa.field("ordinal", pa.int64()), pa.field("root", pa.int64()), pa.field("doc_id", pa.string()),
    pa.field("signature", pa.binary()), pa.field("released", pa.bool_()),
]  # fmt: skip
ALL_PAIRS_LIMIT = 64  # buckets up to this size compare all pairs; larger ones compare each to the first


def member_schema(corpus_pass: ClusterPass) -> pa.Schema:
    """Member rows: ordinal, component root, doc id, signature, released, then the pass's attributes."""
    return pa.schema([*MEMBER_FIELDS, *corpus_pass.attributes])


@dataclass(frozen=True)
class BandRowsStage:
    """One row per (band key, document) for documents that have a signature."""

    in_schema: pa.Schema
    corpus_pass: ClusterPass

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        table = table.filter(pc.is_valid(table[self.corpus_pass.signature]))
        bands = table[self.corpus_pass.bands].combine_chunks()
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

    members: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.members)
        return with_nulls({"key": table["ordinal"], "sig": table["signature"]}, VERIFY_SCHEMA, table.num_rows)


@dataclass(frozen=True)
class VerifyStage:
    """Verify candidate pairs by estimated Jaccard, meeting each end's signature in turn.

    First pass (groups keyed by the pair's first document): each distinct pair picks up that
    document's signature and is re-keyed by the second. Second pass: the pair meets the second
    signature and becomes an edge if the pass's similarity reaches its threshold.
    """

    corpus_pass: ClusterPass
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
            elif self.corpus_pass.similarity(sig, other_sig) >= self.corpus_pass.threshold:
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
        engine.map_batches(edges, ChecksumStage(), CHECKSUM_SCHEMA, "cluster check"), CHECKSUM_SCHEMA
    )
    digest = 0
    for value in rows["digest"].to_pylist():
        digest ^= value
    return sum(rows["edges"].to_pylist()), digest


def connected_components(engine: Engine, edges: object, max_rounds: int = 64) -> object:
    """Alternate large-star and small-star until the edge list stops changing: then every edge
    is (member, smallest ordinal of its component). Each round's edges are released once the next
    round's exist; the ``edges`` handed in are released too."""
    previous = _checksum(engine, edges)
    for _ in range(max_rounds):
        both = engine.map_batches(edges, BothDirectionsStage(), EDGE_SCHEMA, "cluster edges")
        engine.release(edges)
        large = engine.group_by_key(both, "u", StarStage(large=True), EDGE_SCHEMA, "cluster large-star")
        engine.release(both)
        ordered = engine.map_batches(large, LargerFirstStage(), EDGE_SCHEMA, "cluster edges")
        engine.release(large)
        edges = engine.materialize(
            engine.group_by_key(ordered, "u", StarStage(large=False), EDGE_SCHEMA, "cluster small-star")
        )
        engine.release(ordered)
        current = _checksum(engine, edges)
        if current == previous:
            return edges
        previous = current
    raise RuntimeError(f"cluster components did not converge in {max_rounds} rounds")


INDEX_UNIT_SCHEMA = pa.schema([("index", pa.int64()), ("path", pa.string())])
RELEASED_SCHEMA = extend_schema(INDEX_SCHEMA, [pa.field("ordinal", pa.int64())])


def released_ordinal(file_index: int, row: int) -> int:
    """Negative, unique and ordered ordinals for documents of earlier runs' indexes."""
    return -(((file_index << 40) | row) + 1)


@dataclass(frozen=True)
class ReleasedRowsStage:
    """Read earlier runs' index files, each row with its released ordinal (a ``read`` function),
    its signature and band keys turned back by the pass from the form the index stores."""

    corpus_pass: ClusterPass

    def __call__(self, units: pa.Table) -> Iterator[pa.Table]:
        for unit in conform(units, INDEX_UNIT_SCHEMA).to_pylist():
            try:
                index = pq.read_table(unit["path"]).cast(INDEX_SCHEMA)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
                raise ValueError(
                    f"pass {self.corpus_pass.name}: {unit['path']} is not a signature index this version "
                    f"reads ({error}); an index written before band keys became integers needs its run redone"
                ) from error
            sigs, bands = self.corpus_pass.from_index(
                index["sig"].combine_chunks(), index["bands"].combine_chunks()
            )
            ordinals = pa.array(
                [released_ordinal(unit["index"], row) for row in range(index.num_rows)], pa.int64()
            )
            columns = {"doc_id": index["doc_id"], "sig": sigs, "bands": bands, "ordinal": ordinals}
            yield pa.table(columns, schema=RELEASED_SCHEMA)


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


@dataclass(frozen=True)
class ReleasedAttributesStage:
    """Released documents as member rows: signature and doc id, no attributes."""

    members: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, RELEASED_SCHEMA)
        columns = {
            "ordinal": table["ordinal"].combine_chunks(), "doc_id": table["doc_id"].combine_chunks(),
            "signature": table["sig"].combine_chunks(),
            "released": pa.array([True] * table.num_rows, pa.bool_()),
        }  # fmt: skip
        return with_nulls(columns, self.members, table.num_rows)


@dataclass(frozen=True)
class AttributesStage:
    """What resolving a cluster needs of each document with a signature."""

    in_schema: pa.Schema
    corpus_pass: ClusterPass
    members: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, self.in_schema)
        table = table.filter(pc.is_valid(table[self.corpus_pass.signature]))
        columns = {
            "ordinal": table["ordinal"].combine_chunks(), "doc_id": table["doc_id"].combine_chunks(),
            "signature": table[self.corpus_pass.signature].combine_chunks(),
            "released": pa.array([False] * table.num_rows, pa.bool_()),
        }  # fmt: skip
        attributes = self.corpus_pass.attributes_of(table)
        for field, array in zip(self.corpus_pass.attributes, attributes, strict=True):
            columns[field.name] = array
        return with_nulls(columns, self.members, table.num_rows)


@dataclass(frozen=True)
class MembershipStage:
    """Component edges (member, root) as member rows for both ends."""

    members: pa.Schema

    def __call__(self, table: pa.Table) -> pa.Table:
        table = conform(table, EDGE_SCHEMA)
        ordinals = pa.concat_arrays([table["u"].combine_chunks(), table["v"].combine_chunks()])
        roots = pa.concat_arrays([table["v"].combine_chunks(), table["v"].combine_chunks()])
        return with_nulls({"ordinal": ordinals, "root": roots}, self.members, len(ordinals))


@dataclass(frozen=True)
class AttachRootStage:
    """Per ordinal: the attribute row gets the component root, if the document has one."""

    members: pa.Schema

    def __call__(self, groups: pa.Table) -> pa.Table:
        table = conform(groups, self.members)
        roots = (
            table.filter(pc.is_valid(table["root"]))
            .select(["ordinal", "root"])
            .group_by("ordinal")
            .aggregate([("root", "min")])
        )
        attributes = table.filter(pc.is_valid(table["doc_id"])).drop_columns(["root"])
        joined = attributes.join(roots.rename_columns(["ordinal", "root"]), keys="ordinal", join_type="inner")
        return conform(joined, self.members)


@dataclass(frozen=True)
class ResolveStage:
    """Per cluster: the pass's annotations for every member of this run (released ones excluded)."""

    corpus_pass: ClusterPass
    members: pa.Schema
    out_schema: pa.Schema

    def __call__(self, groups: pa.Table) -> pa.Table:
        rows: list[dict] = []
        for cluster in iter_groups(conform(groups, self.members), "root"):
            resolved = self.corpus_pass.resolve(cluster.to_pylist())
            rows.extend(row for row in resolved if row["ordinal"] >= 0)
        return pa.Table.from_pylist(rows, schema=self.out_schema)


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
    adds: tuple[pa.Field, ...]

    def __call__(self, groups: pa.Table) -> pa.Table:
        table = conform(groups, self.in_schema)
        is_doc = pc.is_valid(table["doc_id"])
        docs = table.filter(is_doc).drop_columns([f.name for f in self.adds])
        annotations = table.filter(pc.invert(is_doc))
        # a lookup, not Table.join: Arrow's join cannot carry list columns (the band keys)
        positions = pc.index_in(docs["ordinal"], value_set=annotations["ordinal"].combine_chunks())
        for field in self.adds:
            docs = docs.append_column(field, pc.take(annotations[field.name], positions))
        return conform(docs, self.out_schema)


def released_indexes(corpus_pass: ClusterPass) -> list[Path]:
    """Index files of earlier runs named by the pass (run folders or files); ValueError if one has none."""
    files: list[Path] = []
    for index, entry in enumerate(corpus_pass.released):
        path = Path(entry)
        found = (
            sorted(path.glob(f"{INDEX_DIR}/*.parquet")) if path.is_dir() else [path] if path.exists() else []
        )
        if not found:
            raise ValueError(
                f"pass {corpus_pass.name}: released[{index}]: no signature index at {path} "
                "(give an earlier run folder or one of its index files)"
            )
        files.extend(found)
    return files


def run_clusters(
    engine: Engine, dataset: object, schema: pa.Schema, corpus_pass: ClusterPass, previous: list[Path]
) -> tuple[object, pa.Schema, None]:
    """Annotate every clustered document as the pass resolves it; see the module doc.

    ``dataset`` is released once the annotated documents exist, and so is every step between."""
    members = member_schema(corpus_pass)
    dataset = engine.materialize(dataset)  # read three times below; computed once
    bands = engine.map_batches(dataset, BandRowsStage(schema, corpus_pass), BAND_SCHEMA, "cluster bands")
    attributes = engine.map_batches(
        dataset, AttributesStage(schema, corpus_pass, members), members, "cluster attributes"
    )
    if previous:
        units = pa.table(
            {"index": list(range(len(previous))), "path": [str(p) for p in previous]},
            schema=INDEX_UNIT_SCHEMA,
        )
        released = engine.materialize(
            engine.read(units, ReleasedRowsStage(corpus_pass), RELEASED_SCHEMA, "released index")
        )
        bands = engine.union(
            bands, engine.map_batches(released, ReleasedBandsStage(), BAND_SCHEMA, "released bands")
        )
        attributes = engine.union(
            attributes,
            engine.map_batches(released, ReleasedAttributesStage(members), members, "released attributes"),
        )
    attributes = engine.materialize(attributes)
    signature_rows = engine.map_batches(
        attributes, SignatureRowsStage(members), VERIFY_SCHEMA, "cluster signatures"
    )
    candidates = engine.group_by_key(bands, "band_key", CandidatePairsStage(), VERIFY_SCHEMA, "cluster pairs")
    engine.release(bands)
    first = engine.union(candidates, signature_rows)
    verify = VerifyStage(corpus_pass, final=False)
    halfway = engine.group_by_key(first, "key", verify, VERIFY_SCHEMA, "cluster verify")
    engine.release(first)
    engine.release(candidates)
    second = engine.union(halfway, signature_rows)
    verify = VerifyStage(corpus_pass, final=True)
    edges = engine.materialize(engine.group_by_key(second, "key", verify, EDGE_SCHEMA, "cluster verify"))
    for done in (second, halfway, signature_rows):
        engine.release(done)
    components = connected_components(engine, edges)
    membership = engine.map_batches(components, MembershipStage(members), members, "cluster members")
    engine.release(components)
    both = engine.union(attributes, membership)
    joined = engine.group_by_key(both, "ordinal", AttachRootStage(members), members, "cluster join")
    for done in (both, attributes, membership):
        engine.release(done)
    annotation_schema = pa.schema([pa.field("ordinal", pa.int64()), *corpus_pass.adds])
    annotations = engine.group_by_key(
        joined, "root", ResolveStage(corpus_pass, members, annotation_schema), annotation_schema,
        corpus_pass.name,
    )  # fmt: skip
    engine.release(joined)
    out_schema = extend_schema(schema, corpus_pass.adds)
    wide = pa.schema([field.with_nullable(True) for field in out_schema])  # annotation rows have no doc_id
    documents = engine.map_batches(dataset, WidenStage(schema, wide), wide, "cluster widen")
    engine.release(dataset)
    found = engine.map_batches(annotations, WidenStage(annotation_schema, wide), wide, "cluster widen")
    engine.release(annotations)
    merged = engine.union(documents, found)
    merge = MergeStage(wide, out_schema, corpus_pass.adds)
    annotated = engine.group_by_key(merged, "ordinal", merge, out_schema, "cluster merge")
    for done in (merged, documents, found):
        engine.release(done)
    return annotated, out_schema, None
