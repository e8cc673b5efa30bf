"""`AssistantHolder`: the assistant a server answers with, swapped for a rebuilt index while it runs.

Shared by the chat (ui.app) and the REST API (ui.rest), so both answer from the same build
and both pick up a rebuild. Standard library and the assistant only: no Gradio, no FastAPI.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from assistant import Assistant, IndexInfo

log = logging.getLogger(__name__)


class AssistantHolder:
    """The assistant the app answers with, swapped when the index is rebuilt.

    At most every `check_every` seconds `get()` asks the served assistant which build its
    index folder names now (`Assistant.current_build`); when that changed, a background
    thread opens it in full (`Assistant.reopen_if_changed`, or `load` when given) and then
    swaps the reference. Until then, and if opening fails, the old assistant keeps
    answering: a question never waits for a reload.
    """

    def __init__(self, load: Callable[[], Assistant] | None = None, assistant: Assistant | None = None,
                 check_every: float = 1.0, clock: Callable[[], float] = time.monotonic):
        if load is None and assistant is None:
            raise TypeError("AssistantHolder needs an assistant or a way to load one")
        self._load = load
        self._clock = clock
        first = assistant if assistant is not None else load()
        # One reference, replaced whole: a reader sees an assistant with its own info.
        self._served: tuple[Assistant, IndexInfo] = (first, first.info())
        self.check_every = check_every
        self._tried = self.build_id       # last build we loaded or failed to load
        self._lock = threading.Lock()
        self._next_check = clock() + check_every
        self._loading: threading.Thread | None = None

    @property
    def info(self) -> IndexInfo:
        return self._served[1]

    @property
    def build_id(self) -> str:
        return self._served[1].build_id

    def get(self) -> Assistant:
        """The assistant to answer with now (checking the index folder at most every `check_every` s)."""
        served = self._served
        now = self._clock()
        if now >= self._next_check:
            with self._lock:
                if now >= self._next_check and self._loading is None:
                    self._next_check = now + self.check_every
                    current = served[0].current_build()
                    if current and current != self._tried:
                        self._tried = current
                        self._loading = threading.Thread(target=self._reload, args=(current,),
                                                         name="assistant-reload", daemon=True)
                        self._loading.start()
        return served[0]

    def refresh(self, timeout: float | None = None) -> bool:
        """Check now and wait for any reload to finish; True if a new build is being served."""
        before = self.build_id
        self._next_check = float("-inf")
        self.get()
        thread = self._loading
        if thread is not None:
            thread.join(timeout)
        return self.build_id != before

    def _reload(self, build: str) -> None:
        try:
            fresh = self._load() if self._load is not None else self._served[0].reopen_if_changed()
            if fresh is None:  # CURRENT named the served build again by the time we looked
                return
            info = fresh.info()
            self._served = (fresh, info)
            self._tried = info.build_id
            log.info("now answering from index build %s", info.build_id)
        except Exception as exc:  # noqa: BLE001 - a bad rebuild must not take the server down
            log.warning("kept index build %s: could not load build %s: %s", self.build_id, build, exc)
        finally:
            self._loading = None


def as_holder(served: "AssistantHolder | Assistant") -> AssistantHolder:
    """A holder as given, or one that always serves this fixed assistant (no reloads)."""
    if isinstance(served, AssistantHolder):
        return served
    return AssistantHolder(load=lambda: served, assistant=served, check_every=float("inf"))
