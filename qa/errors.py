"""Errors a user can act on. Each message says what went wrong and what to do next.

The CLI turns a QAError into one line on stderr and its ``exit_code``; the HTTP API
turns a BadQuestion into a 4xx with ``{"error": message}``.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class: something the user can fix. Exit status 1 unless a subclass says 2."""

    exit_code = 1


class UsageError(QAError):
    """The command line or a request was malformed."""

    exit_code = 2


class BadQuestion(UsageError):
    """The question cannot be answered as given (empty, too long, not text)."""


class SourceError(QAError):
    """The source folder or a report in it cannot be read."""

    exit_code = 2


class IndexStoreError(QAError):
    """The index folder cannot be read or written."""


class ModelError(QAError):
    """The embedding model cannot be loaded."""


class BackendError(QAError):
    """The index backend (Milvus) cannot be reached or refuses a request; the message names
    its URI."""
