"""Exporter options given after `--` on the command line (`-- --save-media --image-ext .png`).

Every format takes the common options. A format declares more with an `options` attribute: a
sequence of `ExportOption`. A format that declares none offers the keyword parameters of its
`save` method (their defaults give the kinds), so formats registered later work unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError


class UsageError(EngineError):
    """A command line that cannot be carried out as written (exit code 2)."""


@dataclass(frozen=True)
class ExportOption:
    """One exporter option: the keyword passed to save, its kind and a line of help."""

    name: str
    kind: type = bool
    help: str = ""
    choices: tuple[Any, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def usage(self) -> str:
        if self.kind is bool:
            return f"{self.flag} / --no-{self.flag[2:]}"
        shown = (
            "|".join(str(c) for c in self.choices) if self.choices else self.kind.__name__.upper()
        )
        return f"{self.flag} {shown}"


COMMON_OPTIONS: tuple[ExportOption, ...] = (
    ExportOption(
        "save_media", bool, "write the images (the default; --no-save-media: labels only)"
    ),
    ExportOption("image_ext", str, "image file extension, for formats that store image files"),
    ExportOption("save_dataset_meta", bool, "also write dataset_meta.json with the class names"),
)
#: Options several formats share, with their kinds and help (formats may declare others).
KNOWN_OPTIONS: dict[str, ExportOption] = {
    option.name: option
    for option in (
        ExportOption("compression", str, "compression suffix of the written files (.gz, .xz ...)"),
        ExportOption("compresslevel", int, "compression level 0..9 (gzip / PNG zlib)"),
        ExportOption("grayscale", bool, "convert RGB/RGBA images to one channel (ITU-R 601)"),
        ExportOption("resize", str, "resample images to HEIGHTxWIDTH, e.g. 28x28 (antialiased)"),
        ExportOption("mnistify", bool, "LeCun's normalisation: 20x20 box, centred by mass, 28x28"),
        ExportOption("invert", bool, "with --mnistify: the digit is dark on light paper"),
        ExportOption("workers", int, "processes encoding images (default: all CPUs, big jobs)"),
        ExportOption("progress", bool, "force the progress bar on or off"),
        ExportOption("name", str, "archive name"),
    )
}

_NOT_OPTIONS = {"self", "dataset", "directory", "path", "overwrite"}


def options_of(fmt: object) -> list[ExportOption]:
    """The exporter options `fmt` accepts: the common ones, then its own."""
    declared = getattr(fmt, "options", None)
    own = list(declared) if declared is not None else _from_signature(fmt) + _from_spec(fmt)
    names = {option.name for option in COMMON_OPTIONS}
    return [*COMMON_OPTIONS, *(o for o in own if o.name not in names)]


def _from_signature(fmt: object) -> list[ExportOption]:
    save = getattr(fmt, "save", None)
    if save is None:
        return []
    found = []
    for parameter in inspect.signature(save).parameters.values():
        if parameter.name in _NOT_OPTIONS or parameter.kind in (
            parameter.VAR_KEYWORD,
            parameter.VAR_POSITIONAL,
            parameter.POSITIONAL_ONLY,
        ):
            continue
        if parameter.default is inspect.Parameter.empty:
            continue
        known = KNOWN_OPTIONS.get(parameter.name)
        found.append(known or ExportOption(parameter.name, _kind_of(parameter)))
    return found


def options_from_defaults(
    defaults: dict[str, Any], **overrides: ExportOption
) -> tuple[ExportOption, ...]:
    """Exporter options for a format whose `save(**options)` takes these names and defaults."""
    found = []
    for name, default in defaults.items():
        if name in overrides:
            found.append(overrides[name])
        elif name in KNOWN_OPTIONS:
            found.append(KNOWN_OPTIONS[name])
        else:
            kind = type(default) if type(default) in (bool, int, float) else str
            found.append(ExportOption(name, kind))
    return tuple(found)


def _from_spec(fmt: object) -> list[ExportOption]:
    """A spec with several layouts offers `layout`; one with variants (its `variant_option`, e.g.
    a split) offers that choice."""
    spec = getattr(fmt, "spec", None)
    found = []
    others = getattr(spec, "other_layouts", ())
    if spec is not None and others:
        codecs = (spec.layout.codec, *(layout.codec for layout in others))
        found.append(ExportOption("layout", str, "which of the layouts to write", choices=codecs))
    variants = getattr(spec, "variants", None)
    key = getattr(spec, "variant_option", None)
    if not variants or not key:
        return found
    names = tuple(variant.name for variant in variants)
    return [*found, ExportOption(key, str, f"which {key} to write", choices=names)]


def _kind_of(parameter: inspect.Parameter) -> type:
    default = parameter.default
    if default is not None:
        return type(default) if type(default) in (bool, int, float) else str
    annotation = str(parameter.annotation)
    for kind in (bool, int, float):
        if kind.__name__ in annotation.replace("|", " ").split():
            return kind
    return str


def parse_export_options(format_name: str, fmt: object, argv: Sequence[str]) -> dict[str, Any]:
    """The keyword arguments for `engine.save` from the words after `--`; UsageError if unknown."""
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
    return result


def _convert(option: ExportOption, text: str) -> Any:
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


def describe_options(fmt: object) -> list[str]:
    """One line per exporter option of `fmt`, for help texts."""
    return [f"{o.usage():32} {o.help}".rstrip() for o in options_of(fmt)]
