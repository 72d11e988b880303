"""Problems found while building the cluster plan, collected and raised together."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (file, key path, host) and what is wrong."""

    file: str
    key_path: str
    message: str
    host: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.key_path}: " if self.key_path else f"{self.file}: "
        suffix = f" (host {self.host})" if self.host else ""
        return f"{where}{self.message}{suffix}"

    def as_dict(self) -> dict:
        return {"file": self.file, "key_path": self.key_path, "message": self.message, "host": self.host}


def unknown_key(key: object, known: Iterable[str], what: str = "setting") -> str:
    """The message for a key no reader knows: the nearest known key, else the list of them."""
    names = sorted(known)
    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    if close:
        return f"unknown {what} (did you mean {close[0]!r}?)"
    return f"unknown {what}; known: " + ", ".join(names)


class PlanError(Exception):
    """Raised with every problem found, never just the first one."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class Collector:
    """Gathers problems and warnings while the plan is built."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self._seen: set[Problem] = set()

    def error(self, file: str, key_path: str, message: str, host: str | None = None) -> None:
        problem = Problem(file, key_path, message, host)
        if problem not in self._seen:
            self._seen.add(problem)
            self.problems.append(problem)

    def add(self, problem: Problem) -> None:
        if problem not in self._seen:
            self._seen.add(problem)
            self.problems.append(problem)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def raise_if_any(self) -> None:
        if self.problems:
            raise PlanError(self.problems)
