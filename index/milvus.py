"""Sentence vectors in Milvus: Milvus Lite (embedded, a local `.db` folder) or a server by URI.

Each build writes its own collection `ALIAS__BUILDID` (row id, document id, vector), indexes
and loads it, and only after the build folder names it is the alias moved to it and older
builds' collections dropped (the previous one is kept, as the folder keeps the previous
build). A build killed at any moment therefore leaves the previous collection answering;
an unfinished collection is dropped by the next build. Readers search the collection their
build's manifest names, so a reader never mixes one build's rows with another's vectors.
Each collection records the index folder it belongs to (the `assistant.index` property): a
build into an alias that serves another, still existing, index folder is refused before any
collection is made, since publishing it would drop that folder's vectors.

The index type comes from the FAISS factory string the build already takes (`--faiss`):
`Flat` -> FLAT (exact), `HNSW32` -> HNSW with M=32, `IVF1024,Flat` -> IVF_FLAT with 1024
lists; `--faiss-params` `efSearch=` / `nprobe=` become Milvus's `ef` / `nprobe`.
The token of a secured server is read from `ASSISTANT_MILVUS_TOKEN` here, at connection
time, so it is never written into a manifest or a command line. Needs the `milvus` extra
(`pip install 'grounded-assistant[milvus]'`); nothing imports this module otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Iterable, Sequence

import numpy as np

from .errors import StoreError
from .layout import CURRENT
from .vectors import StoreRecord, StoreSpec

TOKEN_ENV = "ASSISTANT_MILVUS_TOKEN"
BATCH = 5000  # rows per insert call: well under gRPC's 64 MB message limit at 384 dims
DEFAULT_EF = 64
DEFAULT_NPROBE = 16
INSTALL = "pip install 'grounded-assistant[milvus]'"


def _quiet() -> None:
    """Their errors become our one-line messages, not log records with tracebacks (pymilvus configures
    its loggers when imported, so this runs after the import)."""
    for name in ("pymilvus", "milvus_lite", "grpc._server"):  # Lite's in-process server logs calls it lacks
        logging.getLogger(name).setLevel(logging.CRITICAL)


def milvus_index(factory: str, params: str) -> tuple[str, dict[str, int], dict[str, int]]:
    """`(index type, build params, search params)` for a FAISS factory string and its search parameters.

    >>> milvus_index("Flat", "")
    ('FLAT', {}, {})
    >>> milvus_index("HNSW32", "efSearch=128")
    ('HNSW', {'M': 32, 'efConstruction': 200}, {'ef': 128})
    >>> milvus_index("IVF1024,Flat", "")
    ('IVF_FLAT', {'nlist': 1024}, {'nprobe': 16})
    """
    given: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in params.split(","))):
        key, _, value = part.partition("=")
        if not value.strip().isdigit():
            raise ValueError(f"invalid search parameter {part!r} for Milvus (expected name=number)")
        given[key.strip()] = int(value)

    def only(*allowed: str) -> None:
        extra = sorted(set(given) - set(allowed))
        if extra:
            raise ValueError(f"invalid FAISS search parameters {params!r} for {factory!r} on Milvus: "
                             f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not used")

    if factory == "Flat":
        only()
        return "FLAT", {}, {}
    m = re.fullmatch(r"HNSW(\d+)", factory)
    if m:
        only("efSearch")
        return "HNSW", {"M": int(m.group(1)), "efConstruction": 200}, {"ef": given.get("efSearch", DEFAULT_EF)}
    m = re.fullmatch(r"IVF(\d+)(,Flat)?", factory)
    if m:
        only("nprobe")
        return "IVF_FLAT", {"nlist": int(m.group(1))}, {"nprobe": given.get("nprobe", DEFAULT_NPROBE)}
    raise ValueError(f"invalid FAISS factory string {factory!r} for a Milvus store: "
                     "use Flat (exact), HNSWn (e.g. HNSW32) or IVFn,Flat (e.g. IVF1024,Flat)")


def _reason(exc: Exception) -> str:
    msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(msg).split())[:200]


def _lite_locked(path: str) -> bool:
    """Whether another process holds Milvus Lite's lock on `path` (it serves one process at a time)."""
    import fcntl

    try:
        from milvus_lite.server_manager import server_manager_instance
    except ImportError:
        raise StoreError(f"Milvus Lite is not installed: {INSTALL}") from None
    if os.path.abspath(path) in getattr(server_manager_instance, "_servers", {}):
        return False  # this process serves it already
    lock = os.path.join(path, "LOCK")
    if not os.path.exists(lock):
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def connect(spec: StoreSpec, timeout: float = 10.0):
    """A `MilvusClient` for `spec`, or `StoreError` in one line naming the URI and the fix."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise StoreError(f"the Milvus store needs pymilvus and milvus-lite: {INSTALL}") from None
    _quiet()
    where = spec.text()
    if spec.lite:
        parent = os.path.dirname(spec.uri)
        if not os.path.isdir(parent):
            raise StoreError(f"cannot open Milvus Lite at {spec.uri}: the folder {parent} does not exist; create it")
        if _lite_locked(spec.uri):
            raise StoreError(f"Milvus Lite at {spec.uri} is open in another process (Milvus Lite serves one process "
                             "at a time): stop that process, or run a Milvus server and use --store milvus://HOST:PORT/NAME")
    try:
        return MilvusClient(uri=spec.uri, token=os.environ.get(TOKEN_ENV, ""), timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - pymilvus raises several kinds for one cause: no server there
        if spec.lite:
            raise StoreError(f"cannot open Milvus Lite at {spec.uri} ({_reason(exc)}): check the path "
                             f"(milvus-lite:PATH.db) and that milvus-lite is installed ({INSTALL})") from None
        raise StoreError(f"cannot reach Milvus at {where} ({_reason(exc)}): start the server, check the address, "
                         f"and set {TOKEN_ENV} if it needs a token") from None


class MilvusStore:
    """One build's collection behind the `VectorStore` interface (rows are the build's sentence rows)."""

    def __init__(self, client, spec: StoreSpec, collection: str, index_type: str, search_params: dict[str, int]):
        self.client = client
        self.spec = spec
        self.collection = collection
        self.index_type = index_type
        self.search_params = dict(search_params)

    def _call(self, what: str, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - one line naming the store, never a traceback
            raise StoreError(f"Milvus at {self.spec.text()} failed to {what} collection {self.collection} "
                             f"({_reason(exc)})") from None

    def add(self, rows: np.ndarray, doc_ids: Sequence[str], vectors: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        for start in range(0, len(rows), BATCH):
            end = min(len(rows), start + BATCH)
            batch = [{"row": int(rows[i]), "doc": doc_ids[i], "vector": vectors[i]} for i in range(start, end)]
            self._call("insert into", self.client.insert, self.collection, batch)

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        docs = sorted(set(doc_ids))
        if not docs:
            return 0
        where = f"doc in {json.dumps(docs, ensure_ascii=False)}"
        found = self._call("count in", self.client.query, self.collection, filter=where, output_fields=["count(*)"])
        self._call("delete from", self.client.delete, self.collection, filter=where)
        return int(found[0]["count(*)"]) if found else 0

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        params = dict(self.search_params)
        if "ef" in params:
            params["ef"] = max(params["ef"], k)  # HNSW returns at most ef results
        hits = self._call("search", self.client.search, self.collection,
                          data=[np.asarray(query, np.float32).tolist()], limit=k, output_fields=["row"],
                          search_params={"metric_type": "IP", "params": params}, anns_field="vector")[0]
        return (np.array([h["distance"] for h in hits], dtype=np.float32),
                np.array([h["row"] for h in hits], dtype=np.int64))

    def count(self) -> int:
        found = self._call("count", self.client.query, self.collection, filter="", output_fields=["count(*)"])
        return int(found[0]["count(*)"]) if found else 0

    def describe(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.search_params.items())
        kind = "Milvus Lite" if self.spec.lite else "Milvus"
        return f"{kind} {self.spec.text()} (collection {self.collection}, {self.index_type}{', ' + params if params else ''})"

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - closing a dead connection is not an error
            pass


def open_store(record: StoreRecord, fix: str, where: StoreSpec | None = None) -> MilvusStore:
    """The collection a build's manifest names, loaded for search, at `where` (default: where it was built).

    `fix` is the command that rebuilds the index, for the message when the collection is gone.
    """
    spec = where or record.spec()
    client = connect(spec)
    store = MilvusStore(client, spec, record.collection, record.index_type, record.search_params)
    if not store._call("look up", client.has_collection, record.collection):
        store.close()
        raise StoreError(f"Milvus at {spec.text()} has no collection {record.collection} (this index's vectors; "
                         f"dropped, or another server): {fix}")
    store._call("load", client.load_collection, record.collection)
    return store


OWNER = "assistant.index"  # the collection property naming the index folder a build belongs to


def check_owner(spec: StoreSpec, folder: str, store: "MilvusStore | None" = None) -> None:
    """Refuse (`StoreError`) when the name `spec` gives serves a build of another index folder that still
    exists: this build's publishing would drop that folder's vectors. A folder since deleted, or a
    collection made before builds recorded their folder, does not stop the build. Checked before the
    documents are embedded (its own connection) and again before the collection is made (`store`'s)."""
    own = store is None
    store = store or MilvusStore(connect(spec), spec, spec.collection, "", {})
    try:
        try:
            current = store.client.describe_alias(spec.collection).get("collection_name")
        except Exception:  # noqa: BLE001 - no such alias yet
            return
        if not current:
            return
        info = store._call("describe", store.client.describe_collection, current)
        owner = (info.get("properties") or {}).get(OWNER)
    finally:
        if own:
            store.close()
    if owner and os.path.realpath(owner) != os.path.realpath(folder) and os.path.exists(os.path.join(owner, CURRENT)):
        raise StoreError(f"Milvus at {spec.text()}: the name {spec.collection!r} already serves the index in {owner}, "
                         f"whose vectors this build would drop: give this index a name of its own (--store ending "
                         f"/OTHER_NAME), or delete {owner} first")


def create_build(spec: StoreSpec, build_id: str, dim: int, factory: str, params: str,
                 folder: str = "") -> tuple[MilvusStore, StoreRecord]:
    """A new, empty collection for one build of the index in `folder` (recorded on the collection; ""
    for none, as the bench's throwaway builds), and the manifest record that will name it."""
    from pymilvus import DataType

    index_type, index_params, search_params = milvus_index(factory, params)
    collection = f"{spec.collection}__{build_id.replace('-', '_')}"
    client = connect(spec)
    store = MilvusStore(client, spec, collection, index_type, search_params)
    if folder:
        check_owner(spec, folder, store)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("doc", DataType.VARCHAR, max_length=4096)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    store._call("create", client.create_collection, collection, schema=schema,
                **({"properties": {OWNER: os.path.realpath(folder)}} if folder else {}))
    record = StoreRecord(uri=spec.uri, alias=spec.collection, collection=collection, index_type=index_type,
                         index_params=index_params, search_params=search_params)
    return store, record


def finish_build(store: MilvusStore, record: StoreRecord) -> None:
    """Flush the rows, build the index and load the collection: after this it answers searches."""
    client = store.client
    store._call("flush", client.flush, store.collection)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type=record.index_type, metric_type="IP", params=record.index_params)
    try:
        store._call("index", client.create_index, store.collection, index)
    except StoreError as exc:
        # pymilvus retries a create_index whose reply took too long (a large collection); the
        # retry then finds the index the first call made. Anything else is a real failure.
        if "already exists" not in str(exc) or "vector" not in store._call(
                "list the indexes of", client.list_indexes, store.collection, field_name="vector"):
            raise
    store._call("load", client.load_collection, store.collection)


def publish(store: MilvusStore, record: StoreRecord, keep: set[str]) -> None:
    """Point the alias at this build's collection and drop the alias's other builds except `keep`."""
    client = store.client
    try:
        current = client.describe_alias(record.alias).get("collection_name")
    except Exception:  # noqa: BLE001 - no such alias yet
        current = None
    if current is None:
        store._call("alias", client.create_alias, record.collection, record.alias)
    elif current != record.collection:
        store._call("alias", client.alter_alias, record.collection, record.alias)
    for name in store._call("list collections of", client.list_collections):
        if name.startswith(record.alias + "__") and name != record.collection and name not in keep:
            store._call("drop", client.drop_collection, name)
