"""Every error and warning the engine raises on purpose, in one place (all exported from
`engine`); each error carries the facts: file, position, field, expected, actual."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path

#: who reads the messages: "python" (keywords: `overwrite=True`) or "cli" (flags: `--overwrite`)
AUDIENCE: ContextVar[str] = ContextVar("mnist_engine_audience", default="python")
_PACKAGES = tuple(
    str(Path(__file__).resolve().parent.parent / name) + "/" for name in ("engine", "formats")
)


def hint(keyword: str, flag: str) -> str:
    """An option named the way the reader gives it: `keyword` in Python, `flag` on the CLI."""
    return flag if AUDIENCE.get() == "cli" else keyword


def warn_caller(message: str, category: type[Warning]) -> None:
    """Warns pointing at the caller's line: the first frame outside the engine's packages."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(
        _PACKAGES
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class FormatError(EngineError):
    """A file of a known format is malformed: says where, what was expected and what was found."""

    def __init__(
        self,
        path: str | Path | None,
        reason: str | None = None,
        *,
        offset: int | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        expected: object = None,
        actual: object = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.offset = offset
        self.line = line
        self.column = column
        self.field = field
        self.expected = expected
        self.actual = actual
        self.reason = reason or _default_reason(field, expected, actual)
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path is not None:
            where.append(Path(self.path).name)
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        return ": ".join([*where, self.reason])


def _default_reason(field: str | None, expected: object, actual: object) -> str:
    subject = field or "value"
    return f"{subject}: expected {expected}, found {actual}"


class ValidationError(EngineError):
    """Data that the target format cannot hold; names the offending items."""

    def __init__(self, problem: str, item_ids: Iterable[object] = (), *, hint: str = "") -> None:
        self.problem = problem
        self.item_ids = list(item_ids)
        self.hint = hint
        shown = ", ".join(repr(i) for i in self.item_ids[:10])
        more = f" and {len(self.item_ids) - 10} more" if len(self.item_ids) > 10 else ""
        message = problem
        if self.item_ids:
            message += f" (items {shown}{more})"
        if hint:
            message += f"; {hint}"
        super().__init__(message)


class UnknownFormatError(EngineError, LookupError):
    """A format name that the registry does not hold, or a path no format recognises."""


class OutputExistsError(EngineError, FileExistsError):
    """The output directory is not empty and overwriting was not asked for."""


class OutputError(EngineError, OSError):
    """The output folder could not be written (disk full, read-only, no permission): names the
    folder and the reason; the old output, if any, is intact."""


class DownloadError(EngineError):
    """A dataset's files could not be fetched: lists each file, each mirror tried and what it
    answered, and where to put the files by hand."""

    def __init__(self, message: str, attempts: Iterable[tuple[str, str, str]] = ()) -> None:
        #: (file name, mirror URL, what the mirror answered) for every attempt that failed
        self.attempts = list(attempts)
        super().__init__(message)


class NotSupportedError(EngineError, NotImplementedError):
    """A Datumaro name or option this engine does not offer (it holds images with class labels);
    says what is not supported and, where there is one, what to use instead."""


class NotOfferedError(NotSupportedError, AttributeError):
    """A Datumaro attribute name this engine does not offer: a NotSupportedError saying so, and
    an AttributeError, so ``hasattr`` and ``getattr(x, name, default)`` still answer."""


class SpecWarning(UserWarning):
    """A user's spec (MNIST_ENGINE_SPEC_PATH, an entry point) failed to load: named once, and
    the other formats work on; asking for that format raises its SpecError."""


class EmptyFilterWarning(UserWarning):
    """A filter kept none of the items (the result, or the output written, is empty)."""


class SpecError(EngineError):
    """A user's spec file or plugin that cannot be read or does not declare a valid spec."""


class UsageError(EngineError):
    """A request that cannot be carried out as written (a command line: exit code 2)."""


class OptionError(ValidationError, ValueError, TypeError):
    """A load or save option a format does not accept (misspelled, or of the wrong type): names
    the option, why, and the options the format accepts."""

    def __init__(self, format_name: str, problems: list[str], accepted: Iterable[str]) -> None:
        self.format = format_name
        self.problems = problems
        self.accepted = sorted(accepted)
        super().__init__(
            f"{format_name}: {'; '.join(problems)}",
            hint=f"it accepts {', '.join(self.accepted) or 'no options'}",
        )


class ProjectError(EngineError):
    """A missing or malformed project, or a request the project cannot honour."""


class FilterError(EngineError, ValueError):
    """A malformed filter expression: says where (1-based column) and why."""

    def __init__(self, expression: str, column: int, reason: str) -> None:
        self.expression = expression
        self.column = column
        self.reason = reason
        shown, at = expression, column - 1
        if len(expression) > 120:  # a window around the column, not the whole text
            start = max(0, at - 60)
            shown = ("..." if start else "") + expression[start : start + 120] + "..."
            at = at - start + (3 if start else 0)
        caret = " " * at + "^"
        super().__init__(f"bad filter expression, column {column}: {reason}\n  {shown}\n  {caret}")


class MissingExtraError(EngineError, ImportError):
    """An optional library is not installed; the message names the extra that installs it."""


class FileUnverified(UserWarning):
    """A fetched file that cannot be proven to be the published one (no hash is published: only
    its type was checked), or a file in place that does not match and is fetched again."""


class CardWarning(UserWarning):
    """A dataset card was not written or read in full: a user's own README.md or croissant.json
    in the output folder is kept (not replaced by the card), or a card's recorded provenance
    cannot be read."""


class FormatWarning(UserWarning):
    """A file that deviates from its format but can be read without losing data."""


class LabelsNotStoredWarning(UserWarning):
    """The target format has no place for labels; the images were written without them."""


class IdsRenumberedWarning(UserWarning):
    """Items of a merged dataset got new ids because their ids were taken by an earlier source."""


class ItemReplacedWarning(UserWarning):
    """An item given twice with one id in one subset: the later replaced the earlier (Datumaro's
    rule: one item per id and subset)."""


class LabelsDisagreeWarning(UserWarning):
    """Items of an intersect merge lost their label because the sources label them differently."""


class NoImagePathWarning(UserWarning):
    """`id_from_image_name` met items whose image has no file name; their ids were kept."""


class OptionNotUsedWarning(UserWarning):
    """An option was given that this call cannot use (the message says why), e.g. an executor
    for work that runs only here."""


class CacheWarning(UserWarning):
    """A compressed file could not be cached on disk; it is decompressed in memory instead."""


class LocalStepWarning(UserWarning):
    """A step of the work stays in this process although an executor (a Dask cluster) was named;
    said once per step, with why."""


class NotThisFormat(Exception):
    """Internal: a probe found the file is not of the format tried (swallowed by detection)."""
