"""Exporter options given after `--` on the command line (`-- --save-media --image-ext .png`),
parsed from the format's save options model: its fields are the flags, their types the kinds,
their `Literal`s the choices and their descriptions the help (`-- -h`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.errors import OptionError, UsageError
from engine.format import Format, OptionInfo


def options_of(fmt: Format) -> list[OptionInfo]:
    """The exporter options `fmt` accepts, in its options model's order."""
    return fmt.options.describe()


def parse_export_options(format_name: str, fmt: Format, argv: Sequence[str]) -> dict[str, Any]:
    """The keyword arguments for `engine.save` from the words after `--`; UsageError if unknown,
    missing a value or of the wrong kind (the options model checks the values as a save does)."""
    known = {option.flag: option for option in options_of(fmt)}
    result: dict[str, Any] = {}
    words = list(argv)
    while words:
        word = words.pop(0)
        flag, equals, inline = word.partition("=")
        option = known.get(flag)
        negated = False
        if option is None and flag.startswith("--no-"):
            option = known.get("--" + flag[5:])
            negated = option is not None and option.kind is bool
            if not negated:
                option = None
        if option is None:
            accepted = ", ".join(o.usage() for o in known.values())
            raise UsageError(
                f"unknown exporter option {word!r} for format {format_name}; it accepts: {accepted}"
            )
        if option.kind is bool:
            if equals:
                raise UsageError(f"exporter option {flag} takes no value")
            result[option.name] = not negated
            continue
        if not equals:
            if not words or (words[0].startswith("--") and words[0] != "--"):
                raise UsageError(f"exporter option {flag} needs a value ({option.usage()})")
            inline = words.pop(0)
        result[option.name] = _convert(option, inline)
    try:
        fmt.options.of(format_name, result)
    except OptionError as error:
        raise UsageError(f"exporter options: {error}") from None
    return result


def _convert(option: OptionInfo, text: str) -> Any:
    try:
        value = option.kind(text)
    except ValueError:
        raise UsageError(
            f"exporter option {option.flag}: {text!r} is not a {option.kind.__name__}"
        ) from None
    if option.choices and value not in option.choices:
        raise UsageError(
            f"exporter option {option.flag}: {text!r} is not one of "
            + ", ".join(str(c) for c in option.choices)
        )
    return value


def describe_options(fmt: Format) -> list[str]:
    """One line per exporter option of `fmt`, for help texts."""
    return [f"{o.usage():32} {o.help}".rstrip() for o in options_of(fmt)]
