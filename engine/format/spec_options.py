"""The options models of a spec-declared format, generated from its spec: the compressions its
layouts accept, its `layout` choice (specs with several layouts), its variant (e.g. EMNIST's
`split`) and `orientation` (specs storing images transposed). A new spec gets them unasked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import pydantic
from pydantic import Field, model_validator

from engine.format.options import NoOptions, Options, SaveOptions
from specs.schema import CsvLayout, DatasetSpec, IdxLayout, Layout, NpzLayout


class SpecOptions(Options):
    """What loading and saving a spec format share: the choices its spec offers."""

    spec: ClassVar[DatasetSpec]

    def choice(self, name: str) -> Any:
        """The value of a spec-generated option (`split`, `layout`, ...), None when not set."""
        return self.__dict__.get(name)

    @model_validator(mode="after")
    def _variant_exists(self) -> SpecOptions:
        key = self.spec.variant_option
        value = self.__dict__.get(key)
        if self.spec.variants and value is not None:
            self.spec.variant(value)  # ValueError "no split 'x'; choose one of ..."
        return self


class SpecSaveOptions(SaveOptions, SpecOptions):
    """A spec format's save options: the common ones, the compression, the spec's choices."""

    @model_validator(mode="after")
    def _known_compression(self) -> SpecSaveOptions:
        chosen = self.choice("compression")
        accepted = compressions(self.spec)
        if chosen is not None and chosen not in accepted:
            raise ValueError(f"compression {chosen!r} is not one of {list(accepted)}")
        return self


class SpecLoadOptions(SpecOptions):
    """A spec format's load options: the choices its spec offers."""


def compressions(spec: DatasetSpec) -> tuple[str, ...]:
    """Every compression suffix one of the spec's layouts accepts ("" for none)."""
    found: dict[str, None] = {}
    for layout in (spec.layout, *spec.other_layouts):
        found.update(dict.fromkeys(layout_compressions(layout)))
    return tuple(found)


def layout_compressions(layout: Layout) -> tuple[str, ...]:
    """The compression suffixes a layout accepts; NPZ archives compress inside: none."""
    return tuple(layout.compressions) if isinstance(layout, IdxLayout | CsvLayout) else ("",)


def spec_choices(spec: DatasetSpec) -> dict[str, Any]:
    """The fields every options model of `spec` has: layout, variant and orientation."""
    fields: dict[str, Any] = {}
    others = spec.other_layouts
    if others:
        codecs = tuple(dict.fromkeys(layout.codec for layout in (spec.layout, *others)))
        fields["layout"] = (
            Literal[codecs] | None,
            Field(None, description="which of the layouts to read or write"),
        )
    if spec.variants:
        names = [variant.name for variant in spec.variants]
        key = spec.variant_option
        fields[key] = (
            str | None,
            Field(
                None,
                description=f"which {key}: {', '.join(names)}",
                json_schema_extra=_listing(names),
            ),
        )
    if images_transposed(spec):
        fields["orientation"] = (
            Literal["upright", "stored"],
            Field(
                "upright",
                description="upright, or stored: the transposed on-disk orientation torchvision "
                "and TFDS return",
            ),
        )
    return fields


def _listing(choices: Sequence[str]) -> dict[str, Any]:
    """The choices of a str option checked by a validator, listed for help texts and docs."""
    return {"choices": list(choices)}


def images_transposed(spec: DatasetSpec) -> bool:
    """Whether the spec's main layout stores images transposed (EMNIST)."""
    layout = spec.layout
    return isinstance(layout, IdxLayout | NpzLayout) and layout.images.transposed


def options_models(spec: DatasetSpec) -> tuple[type[SpecSaveOptions], type[Options]]:
    """(save options model, load options model) generated from `spec`."""
    title = "".join(part.capitalize() for part in spec.name.split("_"))
    choices = spec_choices(spec)
    accepted = compressions(spec)
    save_fields = {
        **choices,
        "compression": (
            str | None,
            Field(
                None,
                description="compression suffix of the written files (default: the spec's)",
                json_schema_extra=_listing(accepted),
            ),
        ),
    }
    save = pydantic.create_model(
        f"{title}SaveOptions",
        __base__=SpecSaveOptions,
        __doc__=f"Save options of {spec.name}, generated from its spec.",
        **save_fields,
    )
    save.spec = spec
    if not choices:
        return save, NoOptions
    load = pydantic.create_model(
        f"{title}LoadOptions",
        __base__=SpecLoadOptions,
        __doc__=f"Load options of {spec.name}, generated from its spec.",
        **choices,
    )
    load.spec = spec
    return save, load
