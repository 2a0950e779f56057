"""Filters by a real XPath engine (lxml) on each item seen as XML: the fallback for expressions the
vectorised evaluator does not cover, and the reference it is tested against.

An item reads as
`<item><id/><subset/><image><width/><height/></image><annotation><id/><type/><label/><label_id/>
</annotation>...</item>`,
where `label` is the class name and `label_id` its index (Datumaro's view).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.model import Subset
from engine.ops.xpath import FilterError


def compile_xpath(expression: str):
    """The lxml XPath object for `expression`; FilterError when lxml cannot compile it either."""
    from lxml import etree

    try:
        return etree.XPath(expression)
    except etree.XPathSyntaxError as error:
        raise FilterError(expression, 1, f"not valid XPath ({error})") from None


def item_element(subset: Subset, index: int, categories: Sequence[str]):
    """One item as an lxml element (its own document root, so `/item` selects it)."""
    from lxml import etree

    item = etree.Element("item")
    etree.SubElement(item, "id").text = subset.id_at(index)
    etree.SubElement(item, "subset").text = subset.name
    image = subset.image_at(index)
    if image is not None:
        picture = etree.SubElement(item, "image")
        etree.SubElement(picture, "width").text = str(np.shape(image)[1])
        etree.SubElement(picture, "height").text = str(np.shape(image)[0])
    for label in subset.labels_at(index):
        annotation = etree.SubElement(item, "annotation")
        etree.SubElement(annotation, "id").text = "0"
        etree.SubElement(annotation, "type").text = "label"
        name = categories[label] if 0 <= label < len(categories) else ""
        etree.SubElement(annotation, "label").text = name
        etree.SubElement(annotation, "label_id").text = str(label)
    return item


def select_by_lxml(
    xpath, subset: Subset, categories: Sequence[str], *, annotations: bool, progress=None
) -> tuple[np.ndarray, list[tuple[int, ...]] | None]:
    """(items whose result is non-empty/true; per item, the positions of annotations selected)."""
    count = len(subset)
    keep = np.zeros(count, dtype=bool)
    chosen: list[tuple[int, ...]] | None = [] if annotations else None
    for index in range(count):
        element = item_element(subset, index, categories)
        result = xpath(element)
        keep[index] = _truthy(result)
        if chosen is not None:
            own = element.findall("annotation")
            picked = result if isinstance(result, list) else []
            chosen.append(tuple(i for i, node in enumerate(own) if any(node is p for p in picked)))
        if progress is not None and index % 1024 == 1023:
            progress.advance(1024)
    if progress is not None:
        progress.advance(count % 1024)
    return keep, chosen


def _truthy(result: object) -> bool:
    if isinstance(result, list):
        return len(result) > 0
    if isinstance(result, float):
        return result == result and result != 0.0
    return bool(result)
