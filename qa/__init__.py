"""Extractive, cited question answering over Chinese reports.

    >>> from qa import load_assistant
    >>> assistant = load_assistant("seeds", "index")
    >>> assistant.ask("签约了多少个项目？").to_dict()["answer"]
    '签约项目36个'
"""

from typing import Any

from qa.config import Settings
from qa.errors import BadQuestion, QAError, SourceError, UsageError
from qa.schema import Answer, Chunk, Citation, Trace

__all__ = [
    "Answer",
    "Assistant",
    "BadQuestion",
    "Chunk",
    "Citation",
    "QAError",
    "Settings",
    "SourceError",
    "Trace",
    "UsageError",
    "load_assistant",
]


def __getattr__(name: str) -> Any:
    # The assistant pulls in jieba, FAISS and (for a named model) torch: import it only
    # when asked for, so `import qa.text.normalize` and the CLI's argument errors stay instant.
    if name in ("Assistant", "load_assistant"):
        from qa import assistant

        return getattr(assistant, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
