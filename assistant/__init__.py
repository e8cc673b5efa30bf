"""Grounded question answering: questions in, verified quotes with citations out.

    from assistant import Assistant
    answer = Assistant.load().ask("What does North Korea seek from Russia?")
"""

from .api import Assistant
from .errors import (AssistantError, CorruptIndex, GroundingError, IndexNotFound, InvalidQuestion, StaleIndex)
from .settings import Settings
from .types import Answer, Citation, IndexInfo, Passage, Timing

__all__ = ["Answer", "Assistant", "AssistantError", "Citation", "CorruptIndex", "GroundingError", "IndexInfo",
           "IndexNotFound", "InvalidQuestion", "Passage", "Settings", "StaleIndex", "Timing"]
