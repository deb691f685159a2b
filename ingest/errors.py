"""Errors split by audience: the caller's mistake vs a run-time failure.

Each carries a Japanese message for users; the CLI and UI translate at the edge.
"""

from __future__ import annotations


class HyokaError(Exception):
    """Base of every error hyoka raises on purpose."""

    def __init__(self, message_ja: str) -> None:
        super().__init__(message_ja)
        self.message_ja = message_ja


class UserInputError(HyokaError):
    """The caller gave something unusable (a bad file, a bad option)."""


class SheetFileError(UserInputError):
    """A file could not be read as a sheet. Names the file and what is wrong."""

    def __init__(self, path: str, problem_ja: str) -> None:
        super().__init__(f"{path}: {problem_ja}")
        self.path = path
        self.problem_ja = problem_ja


class LimitExceeded(SheetFileError):
    """A file over one of the limits checked before parsing (size, inflated size, pages, sheets)."""


class NotASheet(Exception):
    """A readable file that holds no evaluation sheet (a title list, a dashboard export...)."""

    def __init__(self, reason_ja: str) -> None:
        super().__init__(reason_ja)
        self.reason_ja = reason_ja


class StoreError(HyokaError):
    """The index could not be read or written."""


class StoreBusy(StoreError):
    """Another ingest holds the store's lock."""
