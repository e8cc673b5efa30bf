"""The assistant's domain errors: those of the index stage, plus `InvalidQuestion`.

Core code raises them; the CLI prints `error: <message>` and exits with `exit_code`,
the chat shows the message. None of them should ever reach a user as a traceback.
"""

from index.errors import (AssistantError, CorruptIndex, DocumentError, IndexBusy, IndexNotFound, ModelError,
                          NoDocuments, StaleIndex, UsageError)


class InvalidQuestion(AssistantError):
    """The question is empty, too long, or not text. A usage error: exit code 2."""

    exit_code = 2


class UnknownDocument(AssistantError):
    """A doc_id the index does not hold (a typo, or a document removed by a rebuild). A usage error: exit code 2."""

    exit_code = 2


class GroundingError(AssistantError):
    """An answer failed its citation check. Always a bug: it is raised, never returned."""


__all__ = ["AssistantError", "CorruptIndex", "DocumentError", "GroundingError", "IndexBusy", "IndexNotFound",
           "InvalidQuestion", "ModelError", "NoDocuments", "StaleIndex", "UnknownDocument", "UsageError"]
