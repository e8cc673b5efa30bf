"""The peer `assistant bench` compares against: the recipe most users would write instead.

LangChain's `RecursiveCharacterTextSplitter` (chunk_size=1000, chunk_overlap=200, its
documented defaults in most tutorials), `HuggingFaceEmbeddings` over the same bundled
all-MiniLM-L6-v2 folder, and LangChain's FAISS vector store saved with `save_local`
(which pickles the docstore: `load_local` needs `allow_dangerous_deserialization=True`).
It is given the same input text as our build: the text our loader extracts from each
file, so both embed the same characters.

Run as a script, in a fresh process, so its imports are timed like a user's would be:

    python bench/peer.py cold STORE MODEL QUESTION      # what a user's script does
    python bench/peer.py build '{"files": [...], "out": DIR, "model": PATH}'
    python bench/peer.py latency '{"store": DIR, "model": PATH, "questions": [...]}'

Only the standard library (and bench.harness, which is too) is imported at module level.
Needs the `bench` extra (`pip install 'grounded-assistant[bench]'`).
"""

from __future__ import annotations

import json
import sys
import time

from bench.harness import emit  # a script, not a module of the package: the absolute name

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200


def embeddings(model: str, progress: bool = False):
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=model, show_progress=progress)


def build(files: list[str], out: str, model: str, progress: bool = True) -> dict:
    """Split, embed and store `files` (as our loader reads them); the model is loaded before the clock starts."""
    t0 = time.perf_counter()
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    emb = embeddings(model, progress)
    emb.embed_query("warm up")
    startup = time.perf_counter() - t0

    t1 = time.perf_counter()
    from index.loading import load_documents  # same text as our build: fairest comparison

    docs, _ = load_documents(files)
    loaded = time.perf_counter() - t1
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks = splitter.create_documents([d.text for d in docs], metadatas=[{"source": d.path} for d in docs])
    store = FAISS.from_documents(chunks, emb)
    store.save_local(out)
    seconds = time.perf_counter() - t1
    import resource

    return {"startup_s": startup, "build_s": seconds, "load_s": loaded, "documents": len(docs),
            "chunks": len(chunks), "chars": sum(len(d.text) for d in docs),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def latency(store_dir: str, model: str, questions: list[str], rounds: int = 1, k: int = 5) -> dict:
    """Per-question `similarity_search` and `embed_query` times (ms) on a warm store."""
    from langchain_community.vectorstores import FAISS

    emb = embeddings(model)
    store = FAISS.load_local(store_dir, emb, allow_dangerous_deserialization=True)
    store.similarity_search(questions[0], k=k)  # warm up
    search, embed = [], []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            store.similarity_search(q, k=k)
            search.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            emb.embed_query(q)
            embed.append(1000 * (time.perf_counter() - t))
    return {"search_ms": search, "embed_query_ms": embed}


def cold(store_dir: str, model: str, question: str) -> dict:
    """What a user's script does: load the saved store, search once, print the best passage."""
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    emb = HuggingFaceEmbeddings(model_name=model)
    store = FAISS.load_local(store_dir, emb, allow_dangerous_deserialization=True)
    hits = store.similarity_search(question, k=5)
    return {"top": hits[0].page_content[:200] if hits else ""}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[1]
    if command == "cold" and len(argv) == 5:
        emit(cold(argv[2], argv[3], argv[4]))
    elif command == "build" and len(argv) == 3:
        args = json.loads(argv[2])
        emit(build(args["files"], args["out"], args["model"], args.get("progress", True)))
    elif command == "latency" and len(argv) == 3:
        args = json.loads(argv[2])
        emit(latency(args["store"], args["model"], args["questions"], args.get("rounds", 1), args.get("k", 5)))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
