"""The layout of an index folder on disk: the names of what it holds, and nothing of what is in them.

An index folder holds:

    CURRENT             one line naming the live build folder
    BUILD_ID/           the builds: the live one, and the one before it (kept one generation)
    .tmp-BUILD_ID/      a build being written, renamed to BUILD_ID once complete
    .CURRENT.XXXXXXXX   a new CURRENT being written, renamed over CURRENT
    .lock               held by the one build writing into the folder
    documents/          documents uploaded from the browser (`assistant.library`): part of the
                        index's sources, never collected

Each build folder has:

    manifest.json     schema version, model and weights hash, dimension, chunker settings,
                      each document's path and content hash, counts, FAISS description,
                      and the size and sha256 of every other file
    documents.jsonl   one line per document: id, path, title, hash, full text and (PDF)
                      each page's span in the text
    chunks.jsonl      one line per chunk, with its sentences' offsets and (PDF) its page
    embeddings.npy    one unit vector per distinct sentence (float32, no pickle)
    vectors.faiss     the FAISS index over those vectors (row i = sentence i); absent when
                      the manifest names a Milvus store, whose collection holds the same rows
                      (`index.milvus`); the folder stays the source of documents and offsets

`index.store` writes and reads them; a folder holding `CURRENT` is an index folder.
"""

CURRENT = "CURRENT"
UPLOADS = "documents"  # documents added to a served index from the browser (assistant.library); never collected
LOCK = ".lock"
PENDING = ".tmp-"  # a build folder's name while it is written
MANIFEST = "manifest.json"
FILES = ("documents.jsonl", "chunks.jsonl", "embeddings.npy", "vectors.faiss")  # a build's files besides its manifest
