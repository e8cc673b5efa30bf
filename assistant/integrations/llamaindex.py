"""`GroundedRetriever`: the assistant as a LlamaIndex retriever (`pip install 'grounded-assistant[llamaindex]'`).

    from assistant.integrations.llamaindex import GroundedRetriever
    nodes = GroundedRetriever(k=3).retrieve("What does North Korea seek from Russia?")
    quotes = GroundedRetriever(mode="quotes").retrieve("Why do cats purr?")   # [] : the document doesn't say

Each `NodeWithScore`'s node text is `document_text(doc_id)[start:end]` (also its `start_char_idx` and
`end_char_idx`); its metadata carry `doc_id`, `start`, `end`, `page`, `section`, `score`, `rank`.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Optional, Sequence

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ..api import Assistant
from . import Mode, check_mode, records


class GroundedRetriever(BaseRetriever):
    """Passages of the indexed documents (`mode="passages"`), or only the verified quotes of the
    assistant's answer (`mode="quotes"`: nothing when it declines), as LlamaIndex `NodeWithScore`s."""

    def __init__(self, assistant: Optional[Assistant] = None, index_dir: Optional[str | os.PathLike] = None,
                 mode: Mode = "passages", k: Optional[int] = None, history: Optional[Sequence[str]] = None,
                 documents: Optional[Sequence[str]] = None, **kwargs: Any):
        self.mode = check_mode(mode)
        if assistant is None:
            folder = index_dir if index_dir is not None else os.environ.get("ASSISTANT_INDEX") or None
            assistant = Assistant.load(folder)
        self.assistant, self.k = assistant, k
        self.history = list(history) if history is not None else None
        self.documents = list(documents) if documents is not None else None
        super().__init__(**kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = records(self.assistant, query_bundle.query_str, self.mode, self.k, self.history, self.documents)
        return [NodeWithScore(node=TextNode(id_=r.id, text=r.text, metadata=r.metadata,
                                            start_char_idx=r.metadata["start"], end_char_idx=r.metadata["end"]),
                              score=r.score)
                for r in found]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        # the assistant computes on the CPU: in a worker thread, so the event loop keeps serving
        return await asyncio.to_thread(self._retrieve, query_bundle)
