"""`GroundedRetriever`: the assistant as a LangChain retriever (`pip install 'grounded-assistant[langchain]'`).

    from assistant.integrations.langchain import GroundedRetriever
    docs = GroundedRetriever(k=3).invoke("What does North Korea seek from Russia?")
    quotes = GroundedRetriever(mode="quotes").invoke("Why do cats purr?")   # [] : the document doesn't say

Each `Document`'s `page_content` is `document_text(doc_id)[start:end]`; its metadata carry `doc_id`,
`start`, `end`, `page`, `section`, `score`, `rank` (see `assistant.integrations`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Union

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field, field_validator

from ..api import Assistant
from . import Mode, check_mode, records


class GroundedRetriever(BaseRetriever):
    """Passages of the indexed documents (`mode="passages"`), or only the verified quotes of the
    assistant's answer (`mode="quotes"`: nothing when it declines), as LangChain `Document`s."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Optional[Assistant] = Field(None, description="The assistant to ask; opened from `index_dir` "
                                                             "(the bundled article when None) if not given.")
    index_dir: Optional[Union[str, Path]] = Field(None, description="Index folder to open when no assistant is given.")
    mode: Mode = Field("passages", description="'passages' (Assistant.retrieve) or 'quotes' (Assistant.ask's "
                                               "verified quotes, [] when it declines).")
    k: Optional[int] = Field(None, description="Passages to return in 'passages' mode (the settings' k, 5, "
                                               "when None).")
    history: Optional[list[str]] = Field(None, description="Earlier questions, oldest first, for follow-ups.")
    documents: Optional[list[str]] = Field(None, description="Only these doc_ids; all when None.")

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return check_mode(value) if isinstance(value, str) else value

    def model_post_init(self, context: Any) -> None:
        if self.assistant is None:
            folder = self.index_dir if self.index_dir is not None else os.environ.get("ASSISTANT_INDEX") or None
            self.assistant = Assistant.load(folder)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content=r.text, metadata=r.metadata, id=r.id)
                for r in records(self.assistant, query, self.mode, self.k, self.history, self.documents)]

    async def _aget_relevant_documents(self, query: str, *,
                                       run_manager: AsyncCallbackManagerForRetrieverRun) -> list[Document]:
        # the assistant computes on the CPU: in a worker thread, so the event loop keeps serving
        return await run_in_executor(None, self._get_relevant_documents, query, run_manager=run_manager.get_sync())
