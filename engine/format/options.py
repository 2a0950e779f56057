"""The options a format takes, as typed pydantic models: one for saving and one for loading per
format, declared once. `engine.save`/`engine.load` check the keywords against them, the CLI builds
its `-- --flags` and `-- -h` from them, and the docs' option tables are generated from them.

A misspelled or ill-typed option is an `OptionError` (an `engine.ValidationError`) naming the
accepted options.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.errors import OptionError
from engine.io.images import normalize_ext
from engine.ops.pixels import PixelEdit

OptionsT = TypeVar("OptionsT", bound="Options")


@dataclass(frozen=True)
class OptionInfo:
    """One option as help texts and the docs show it: name, kind, default, choices, help."""

    name: str
    kind: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def usage(self) -> str:
        """`--flag / --no-flag` for a switch, `--flag KIND` or `--flag a|b` otherwise."""
        if self.kind is bool:
            return f"{self.flag} / --no-{self.flag[2:]}"
        shown = (
            "|".join(str(c) if c != "" else '""' for c in self.choices)
            if self.choices
            else self.kind.__name__.upper()
        )
        return f"{self.flag} {shown}"


class Options(BaseModel):
    """Base of every options model: unknown names are refused, values are checked and typed;
    `None` for an option whose default is not None means "the default"."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _none_means_default(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        fields = cls.model_fields
        return {
            key: value
            for key, value in data.items()
            if value is not None or key not in fields or fields[key].default is None
        }

    @classmethod
    def of(cls: type[OptionsT], format_name: str, given: Mapping[str, Any]) -> OptionsT:
        """The options `given` as this model; OptionError naming the accepted ones if wrong."""
        try:
            return cls.model_validate(dict(given))
        except pydantic.ValidationError as error:
            problems = [_problem(entry) for entry in error.errors()]
            raise OptionError(format_name, problems, cls.model_fields) from None

    @classmethod
    def describe(cls) -> list[OptionInfo]:
        """Every option, in declaration order, for help texts and the docs."""
        found = []
        for name, field in cls.model_fields.items():
            kind, choices = _kind_and_choices(field.annotation)
            extra = field.json_schema_extra
            listed = extra.get("choices") if isinstance(extra, dict) else None
            if isinstance(listed, list):
                choices = tuple(listed)
            found.append(OptionInfo(name, kind, field.default, field.description or "", choices))
        return found


def _problem(entry: Mapping[str, Any]) -> str:
    name = ".".join(str(part) for part in entry["loc"]) or "options"
    if entry["type"] == "extra_forbidden":
        return f"unknown option {name!r}"
    message = str(entry["msg"]).removeprefix("Value error, ")
    return f"option {name}={entry.get('input')!r}: {message}"


def _kind_and_choices(annotation: Any) -> tuple[type, tuple[Any, ...] | None]:
    """(bool | int | float | str, the Literal's values or None) for a field's annotation."""
    arguments = [a for a in _flatten(annotation) if a is not type(None)]
    literals = [a for a in arguments if typing.get_origin(a) is Literal]
    if literals:
        choices = tuple(value for literal in literals for value in typing.get_args(literal))
        return type(choices[0]), choices
    for kind in (str, bool, int, float):
        if kind in arguments:
            return kind, None
    return str, None


def _flatten(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [part for argument in typing.get_args(annotation) for part in _flatten(argument)]
    return [annotation]


#: the help of the options several formats share
HELP = {
    "save_media": "write the images (the default; --no-save-media: labels only)",
    "image_ext": "image file extension, for formats that store image files",
    "save_dataset_meta": "also write dataset_meta.json with the class names",
    "compresslevel": "compression level 0..9 (gzip and PNG zlib level, xz preset, bz2 level)",
    "grayscale": "convert RGB/RGBA images to one channel (ITU-R 601)",
    "resize": "resample images to HEIGHTxWIDTH, e.g. 28x28 (antialiased)",
    "mnistify": "LeCun's normalisation: 20x20 box, centred by mass, 28x28",
    "invert": "with --mnistify: the digit is dark on light paper",
    "workers": "processes encoding or decoding images (default: all CPUs, big jobs)",
    "progress": "force the progress bar on or off",
    "skip_broken": "leave unreadable image files out (a warning counts them)",
    "follow_symlinks": "read symbolic links that point outside the dataset folder",
}


class SaveOptions(Options):
    """What every format's save takes: media, class-name file, pixel conversions, workers."""

    save_media: bool = Field(True, description=HELP["save_media"])
    image_ext: str = Field(".png", description=HELP["image_ext"])
    save_dataset_meta: bool = Field(False, description=HELP["save_dataset_meta"])
    compresslevel: int = Field(6, ge=0, le=9, description=HELP["compresslevel"])
    grayscale: bool = Field(False, description=HELP["grayscale"])
    resize: str | int | tuple[int, int] | None = Field(None, description=HELP["resize"])
    mnistify: bool = Field(False, description=HELP["mnistify"])
    invert: bool = Field(False, description=HELP["invert"])
    workers: int | None = Field(None, description=HELP["workers"])
    progress: bool | None = Field(None, description=HELP["progress"])

    @field_validator("image_ext")
    @classmethod
    def _known_ext(cls, value: str) -> str:
        return normalize_ext(value or ".png")

    @model_validator(mode="after")
    def _pixel_edit_is_valid(self) -> SaveOptions:
        self.pixel_edit()  # raises ValueError for a resize or mnistify that cannot be done
        return self

    def image_args(self) -> dict[str, Any]:
        """The keywords of the image encoders (`engine.io.images`): ext, level, workers, bar."""
        return {
            "ext": self.image_ext,
            "compresslevel": self.compresslevel,
            "workers": self.workers,
            "progress": self.progress,
        }

    def pixel_edit(self) -> PixelEdit:
        """The pixel conversion these options ask for (grayscale, resize, mnistify, invert)."""
        return PixelEdit.from_options(
            grayscale=self.grayscale, resize=self.resize, mnistify=self.mnistify, invert=self.invert
        )


class PngSaveOptions(SaveOptions):
    """Save options of a format whose images are PNG files only (image_ext must stay .png)."""

    @field_validator("image_ext")
    @classmethod
    def _png_only(cls, value: str) -> str:
        if value != ".png":
            raise ValueError("images are stored as PNG; image_ext must be .png")
        return value


class LoadOptions(Options):
    """What loading a format made of image files takes: broken files, workers, progress."""

    skip_broken: bool = Field(False, description=HELP["skip_broken"])
    workers: int | None = Field(None, description=HELP["workers"])
    progress: bool | None = Field(None, description=HELP["progress"])


class FolderLoadOptions(LoadOptions):
    """Loading a folder of image files also takes whether to follow outside symbolic links."""

    follow_symlinks: bool = Field(False, description=HELP["follow_symlinks"])


class NoOptions(Options):
    """A format that takes no options of its own when loading."""
