"""Domain errors of the index stage.

Core code raises these; only the edges (CLI, UI) turn them into a one-line message
with an exit code. Each message says what is wrong and, where there is one, the
command that fixes it. Nothing here formats tracebacks.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error a user can cause or fix. `exit_code` is what the CLI returns."""

    exit_code = 1


class UsageError(AssistantError):
    """A command was given options that cannot work together or a value out of range (exit code 2)."""

    exit_code = 2


class IndexNotFound(AssistantError):
    """No index at the given folder."""


class StaleIndex(AssistantError):
    """The index no longer matches its documents, model or settings."""


class CorruptIndex(AssistantError):
    """A file of the index is missing, truncated or not what it should be."""


class DocumentError(AssistantError):
    """A document could not be read as text (binary, empty, undecodable, unsupported)."""


class NoDocuments(AssistantError):
    """Nothing indexable was found in the given paths."""


class ModelError(AssistantError):
    """The embedding model could not be found, loaded or verified."""


class IndexWriteError(AssistantError):
    """The index folder could not be written (full or read-only disk); the old index is untouched."""


class IndexBusy(AssistantError):
    """Another build is writing the same index folder."""


class StoreError(AssistantError):
    """The vector store (a Milvus server or Milvus Lite file) cannot be reached, or lacks this index's collection."""
