"""Typed errors. Every message says what is wrong, where, and what to do."""

from __future__ import annotations


class TrendcastError(Exception):
    """Base class for errors the CLI and API turn into one clear line."""


class DataValidationError(TrendcastError, ValueError):
    """Input data broke a rule (bad date, negative quantity, duplicate key, ...).

    ``problems`` holds one dict per problem with keys file, row, column, value, expected.
    """

    def __init__(self, message: str, problems: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __reduce__(self):  # type: ignore[no-untyped-def]  # keep problems across processes
        return (type(self), (str(self), self.problems))


class InputFileError(TrendcastError, ValueError):
    """A file is missing, unreadable or in a format trendcast does not read."""


class LimitError(InputFileError):
    """A file is over a reading limit (unpacked size, rows, columns, field length); the API
    answers 413."""


class StoreError(TrendcastError):
    """The workspace database cannot be opened, migrated or written."""


class ConflictError(TrendcastError):
    """The request conflicts with the workspace's current state (e.g. undoing a batch whose
    rows a later batch changed); the message says what to do first."""


class NotFittedError(TrendcastError, AttributeError):
    """A model was asked to predict before ``fit``."""


class ModelError(TrendcastError, ValueError):
    """A model was configured or called with values it cannot use."""


class NotFoundError(TrendcastError, KeyError):
    """A run, product or table asked for does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""
