"""Dataset filters in Datumaro's XPath subset, evaluated vectorised over a subset's columns.

`/item[annotation/label="3"]`, `/item[subset="train"]`, `/item[id < 2]`, `/item[not(annotation)]`,
`/item[image/width < image/height]` and `/item/annotation[label="3"]` become numpy operations on the
label, id, subset and image-size columns (no per-item Python). Anything else that is valid XPath
runs through lxml on each item seen as XML (engine.ops.filter_xml), with XPath's semantics either
way.

Modes: `items` keeps the items the expression selects; `annotations` keeps every item but only the
annotations the expression selects; `items+annotations` also drops items left without annotations.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import EngineError
from engine.model import NO_LABEL, Dataset, ItemView, Label, Subset
from engine.model.lineage import Step as LineageStep
from engine.model.lineage import plain
from engine.ops.xpath import (
    BoolOp,
    Call,
    Compare,
    FilterError,
    Literal,
    Path,
    Step,
    Unsupported,
    parse,
)

MODES = {
    "items": "items",
    "i": "items",
    "annotations": "annotations",
    "a": "annotations",
    "items+annotations": "items+annotations",
    "i+a": "items+annotations",
}

#: The elements an item has, and their children: what a filter's paths may name.
ITEM_SCHEMA: dict[str, tuple[str, ...]] = {
    "item": ("id", "subset", "image", "annotation"),
    "image": ("width", "height"),
    "annotation": ("id", "type", "label", "label_id"),
}


def normalize_mode(mode: str) -> str:
    """The canonical mode name for `mode` (accepts Datumaro's short forms i, a, i+a)."""
    try:
        return MODES[mode]
    except KeyError:
        raise EngineError(
            f"unknown filter mode {mode!r}; use items, annotations or items+annotations (i, a, i+a)"
        ) from None


# -- the annotation rows of a subset --------------------------------------------------------------
@dataclass
class Annotations:
    """Every annotation of a subset as rows: the item it belongs to, its label, its position."""

    owner: np.ndarray
    codes: np.ndarray
    position: np.ndarray

    @classmethod
    def of(cls, subset: Subset) -> Annotations:
        labels = np.asarray(subset.labels, dtype=np.int64)
        if not subset.multi_labels:
            owner = np.flatnonzero(labels != NO_LABEL)
            return cls(owner, labels[owner], np.zeros(len(owner), dtype=np.int64))
        single = labels != NO_LABEL
        single[list(subset.multi_labels)] = False
        owners = [np.flatnonzero(single)]
        codes = [labels[owners[0]]]
        positions = [np.zeros(len(owners[0]), dtype=np.int64)]
        for index, values in subset.multi_labels.items():
            owners.append(np.full(len(values), index, dtype=np.int64))
            codes.append(np.asarray(values, dtype=np.int64))
            positions.append(np.arange(len(values), dtype=np.int64))
        owner, code, position = (np.concatenate(parts) for parts in (owners, codes, positions))
        order = np.lexsort((position, owner))
        return cls(owner[order], code[order], position[order])

    def __len__(self) -> int:
        return len(self.owner)


# -- values a path evaluates to -------------------------------------------------------------------
_NUMBER = re.compile(r"\s*-?(\d+(\.\d*)?|\.\d+)\s*")


def xpath_number(text: str) -> float:
    """XPath's number(): decimal digits with an optional minus and point, else NaN."""
    return float(text) if _NUMBER.fullmatch(text) else float("nan")


@dataclass
class NodeSet:
    """The nodes a path selects: for each node the context row it belongs to, and its values.

    Values are held as `codes` into a `vocab` of strings (labels, subset names), as integer
    `numbers` (implicit ids, sizes), as `texts` (explicit ids), or not at all (elements).
    """

    owner: np.ndarray
    codes: np.ndarray | None = None
    vocab: tuple[str, ...] | None = None
    numbers: np.ndarray | None = None
    texts: np.ndarray | None = None
    unique: bool = True

    def string_equal(self, literal: str) -> np.ndarray:
        if self.vocab is not None:
            return np.array([word == literal for word in self.vocab], dtype=bool)[self.codes]
        if self.numbers is not None:
            if re.fullmatch(r"-?\d+", literal) and str(int(literal)) == literal:
                return self.numbers == int(literal)
            return np.zeros(len(self.owner), dtype=bool)
        if self.texts is not None:
            return np.asarray(self.texts == literal, dtype=bool)
        raise Unsupported("comparing an element that has child elements")

    def as_numbers(self) -> np.ndarray:
        if self.vocab is not None:
            return np.array([xpath_number(w) for w in self.vocab], dtype=float)[self.codes]
        if self.numbers is not None:
            return self.numbers.astype(float)
        if self.texts is not None:
            return np.array([xpath_number(t) for t in self.texts], dtype=float)
        raise Unsupported("comparing an element that has child elements")

    def as_texts(self) -> np.ndarray:
        if self.vocab is not None:
            return np.asarray(self.vocab, dtype=object)[self.codes]
        if self.numbers is not None:
            return np.array([str(int(v)) for v in self.numbers], dtype=object)
        if self.texts is not None:
            return self.texts
        raise Unsupported("comparing an element that has child elements")


_OPS: dict[str, np.ufunc] = {
    "=": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}
_FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


# -- the vectorised evaluator ---------------------------------------------------------------------
class _Evaluator:
    """Evaluates a parsed expression over one subset's columns; raises Unsupported when it can't."""

    def __init__(self, expression: str, subset: Subset, categories: Sequence[str]) -> None:
        self.expression = expression
        self.subset = subset
        self.categories = tuple(categories)
        self.annotations = Annotations.of(subset)

    def select(self, tree: object) -> tuple[np.ndarray, np.ndarray]:
        """(items selected, annotation rows selected) for a top-level `/item[...]` path."""
        if not isinstance(tree, Path) or not tree.absolute:
            raise Unsupported("a top level that is not an absolute path")
        first = tree.steps[0]
        if first.name != "item":
            raise FilterError(
                self.expression, first.column, f"a filter selects /item, not /{first.name}"
            )
        items = np.ones(len(self.subset), dtype=bool)
        for predicate in first.predicates:
            items &= self._predicate(predicate, "item")
        if len(tree.steps) == 1:
            return items, np.zeros(len(self.annotations), dtype=bool)
        second = tree.steps[1]
        if second.name != "annotation" or len(tree.steps) > 2:
            self._check_names(tree.steps[1:], "item")
            raise Unsupported("a path below /item other than /item/annotation")
        chosen = items[self.annotations.owner]
        for predicate in second.predicates:
            chosen &= self._predicate(predicate, "annotation")
        return self._any(self.annotations.owner[chosen], len(self.subset)), chosen

    # -- helpers
    def _size(self, level: str) -> int:
        return len(self.subset) if level == "item" else len(self.annotations)

    def _any(self, owners: np.ndarray, size: int) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        mask[owners] = True
        return mask

    def _predicate(self, expr: object, level: str) -> np.ndarray:
        value = self._eval(expr, level)
        if isinstance(value, Literal) and isinstance(value.value, float):
            raise Unsupported("a positional predicate")
        return self._boolean(value, level)

    def _boolean(self, value: object, level: str) -> np.ndarray:
        size = self._size(level)
        if isinstance(value, np.ndarray):
            return value
        if isinstance(value, NodeSet):
            return self._any(value.owner, size)
        if isinstance(value, Literal):
            return np.full(size, bool(value.value), dtype=bool)
        raise Unsupported("a value that is not a truth value")

    def _eval(self, expr: object, level: str) -> object:
        if isinstance(expr, Literal):
            return expr
        if isinstance(expr, BoolOp):
            parts = [self._boolean(self._eval(e, level), level) for e in expr.operands]
            combine = np.logical_and if expr.op == "and" else np.logical_or
            return combine.reduce(parts)
        if isinstance(expr, Compare):
            return self._compare(expr, level)
        if isinstance(expr, Call):
            return self._call(expr, level)
        if isinstance(expr, Path):
            return self._path(expr, level)
        raise Unsupported(type(expr).__name__)

    def _call(self, call: Call, level: str) -> object:
        size = self._size(level)
        name, args = call.name, call.args
        if name == "not" and len(args) == 1:
            return ~self._boolean(self._eval(args[0], level), level)
        if name in ("true", "false") and not args:
            return np.full(size, name == "true", dtype=bool)
        if name == "count" and len(args) == 1:
            nodes = self._eval(args[0], level)
            if not isinstance(nodes, NodeSet):
                raise Unsupported("count() of a value")
            counts = np.bincount(nodes.owner, minlength=size)
            return NodeSet(np.arange(size), numbers=counts)
        if name in ("contains", "starts-with") and len(args) == 2:
            nodes, needle = self._eval(args[0], level), self._eval(args[1], level)
            if not (isinstance(nodes, NodeSet) and nodes.unique and isinstance(needle, Literal)):
                raise Unsupported(f"{name}() on these arguments")
            text = needle.value if isinstance(needle.value, str) else _number_text(needle.value)
            test = str.__contains__ if name == "contains" else str.startswith
            hits = np.array([test(t, text) for t in nodes.as_texts()], dtype=bool)
            return self._any(nodes.owner[hits], size)
        raise Unsupported(f"function {name}()", call.column)

    def _compare(self, expr: Compare, level: str) -> np.ndarray:
        left, right = self._eval(expr.left, level), self._eval(expr.right, level)
        op = expr.op
        if isinstance(left, Literal) and isinstance(right, NodeSet):
            left, right, op = right, left, _FLIPPED[op]
        size = self._size(level)
        if isinstance(left, NodeSet) and isinstance(right, Literal):
            value = right.value
            if op in ("=", "!=") and isinstance(value, str):
                hits = left.string_equal(value)
                hits = hits if op == "=" else ~hits
            else:
                number = xpath_number(value) if isinstance(value, str) else value
                with np.errstate(invalid="ignore"):
                    hits = _OPS[op](left.as_numbers(), number)
            return self._any(left.owner[hits], size)
        if isinstance(left, NodeSet) and isinstance(right, NodeSet):
            if not (left.unique and right.unique):
                raise Unsupported("comparing two paths that select several nodes")
            common, a, b = np.intersect1d(left.owner, right.owner, return_indices=True)
            if op in ("=", "!="):
                hits = _OPS[op](left.as_texts()[a], right.as_texts()[b]).astype(bool)
            else:
                with np.errstate(invalid="ignore"):
                    hits = _OPS[op](left.as_numbers()[a], right.as_numbers()[b])
            return self._any(common[hits], size)
        raise Unsupported("this comparison")

    def _check_names(self, steps: Sequence[Step], parent: str) -> None:
        for step in steps:
            if step.name in (".", ".."):
                raise Unsupported(f"the step {step.name!r}", step.column)
            children = ITEM_SCHEMA.get(parent, ())
            if step.name not in children:
                where = f"<{parent}> has " + (
                    "no child elements" if not children else "only " + ", ".join(children)
                )
                raise FilterError(
                    self.expression, step.column, f"no element {step.name!r}: {where}"
                )
            parent = step.name

    def _path(self, path: Path, level: str) -> NodeSet:
        if path.absolute:
            raise Unsupported("an absolute path inside a predicate")
        self._check_names(path.steps, level)
        names = [step.name for step in path.steps]
        for step in path.steps:
            if step.predicates and step.name != "annotation":
                raise Unsupported("a predicate on an element other than annotation", step.column)
        if level == "annotation":
            return self._annotation_field(names[0], np.arange(len(self.annotations)))
        subset = self.subset
        count = len(subset)
        head = names[0]
        if head == "id":
            if subset.ids is None:
                return NodeSet(np.arange(count), numbers=np.arange(count))
            return NodeSet(np.arange(count), texts=subset.ids)
        if head == "subset":
            return NodeSet(np.arange(count), codes=np.zeros(count, np.int64), vocab=(subset.name,))
        if head == "image":
            return self._image(names[1] if len(names) > 1 else None)
        rows = np.ones(len(self.annotations), dtype=bool)
        for predicate in path.steps[0].predicates:
            rows &= self._predicate(predicate, "annotation")
        picked = np.flatnonzero(rows)
        if len(names) == 1:
            return NodeSet(self.annotations.owner[picked], unique=False)
        nodes = self._annotation_field(names[1], picked)
        nodes.owner = self.annotations.owner[picked]
        nodes.unique = not self.subset.multi_labels
        return nodes

    def _annotation_field(self, name: str, rows: np.ndarray) -> NodeSet:
        codes = self.annotations.codes[rows]
        if name == "label_id":
            return NodeSet(rows, numbers=codes)
        if name == "id":
            return NodeSet(rows, numbers=np.zeros(len(rows), np.int64))
        if name == "type":
            return NodeSet(rows, codes=np.zeros(len(rows), np.int64), vocab=("label",))
        known = len(self.categories)
        unknown = (codes < 0) | (codes >= known)
        return NodeSet(rows, codes=np.where(unknown, known, codes), vocab=(*self.categories, ""))

    def _image(self, field: str | None) -> NodeSet:
        images = self.subset.images
        count = len(self.subset)
        if images is None:
            return NodeSet(np.zeros(0, np.int64), numbers=np.zeros(0, np.int64))
        if isinstance(images, np.ndarray):
            owner = np.arange(count)
            heights = np.full(count, images.shape[1])
            widths = np.full(count, images.shape[2])
        else:
            present = [(i, im) for i, im in enumerate(images) if im is not None]
            owner = np.array([i for i, _ in present], np.int64)
            shapes = [np.shape(im) for _, im in present]
            heights = np.array([s[0] for s in shapes], np.int64)
            widths = np.array([s[1] for s in shapes], np.int64)
        if field is None:
            return NodeSet(owner)
        return NodeSet(owner, numbers=widths if field == "width" else heights)


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


# -- compiled filters -----------------------------------------------------------------------------
class Filter:
    """A compiled filter expression: vectorised where it can be, lxml per item otherwise."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self._xpath: Callable[..., Any] | None = None
        self._column = 1  # where the vectorised parser stopped: the likely culprit of lxml errors
        try:
            self.tree: object | None = parse(expression)
        except FilterError as error:
            self.tree = None
            self._column = error.column
            self._lxml_or_raise(error, error.column)
            return
        except Unsupported as unsupported:
            self.tree = None
            self._column = unsupported.column
            self._lxml_or_raise(None, unsupported.column)
            return
        empty = Subset(name="", labels=np.zeros(0, np.int32))
        try:
            _Evaluator(expression, empty, ()).select(self.tree)
        except Unsupported as unsupported:
            self.tree = None
            self._column = unsupported.column
            self._lxml_or_raise(None, unsupported.column)

    def _lxml_or_raise(self, error: FilterError | None, column: int = 1) -> None:
        from lxml import etree

        from engine.ops.filter_xml import compile_xpath

        try:
            self._xpath = compile_xpath(self.expression)
        except FilterError as lxml_error:
            if error is not None:
                raise error from None
            raise FilterError(self.expression, column, lxml_error.reason) from None
        try:  # unknown functions and type errors show only when evaluated: try a bare item now
            self._xpath(etree.Element("item"))
        except etree.XPathError as eval_error:
            raise FilterError(
                self.expression, column, f"cannot be evaluated: {eval_error}"
            ) from None

    @property
    def vectorised(self) -> bool:
        """True when the expression runs on the columns, without building XML per item."""
        return self.tree is not None

    def select(
        self, subset: Subset, categories: Sequence[str], *, progress=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mask of items selected, mask of annotation rows selected, see `Annotations.of`)."""
        if self.tree is not None:
            try:
                return _Evaluator(self.expression, subset, categories).select(self.tree)
            except Unsupported:
                pass
        return self._select_by_lxml(subset, categories, progress)

    def _select_by_lxml(self, subset, categories, progress):
        from lxml import etree

        from engine.ops.filter_xml import compile_xpath, select_by_lxml

        if self._xpath is None:
            self._xpath = compile_xpath(self.expression)
        try:
            items, chosen = select_by_lxml(
                self._xpath, subset, categories, annotations=True, progress=progress
            )
        except etree.XPathError as error:
            raise FilterError(
                self.expression, self._column, f"cannot be evaluated: {error}"
            ) from None
        annotations = Annotations.of(subset)
        rows = np.zeros(len(annotations), dtype=bool)
        for row, (owner, position) in enumerate(
            zip(annotations.owner.tolist(), annotations.position.tolist(), strict=True)
        ):
            rows[row] = position in chosen[owner]
        return items, rows


def filter_subset(subset: Subset, categories: Sequence[str], flt: Filter, mode: str, progress=None):
    """The subset filtered by a compiled filter in a mode (see the module docstring)."""
    mode = normalize_mode(mode)
    items, rows = flt.select(subset, categories, progress=progress)
    if mode == "items":
        return subset.take(items)
    kept = with_annotations(subset, rows)
    if mode == "items+annotations":
        kept = kept.take(np.asarray(kept.labels) != NO_LABEL)
    return kept


def _annotations_by_predicate(subset: Subset, keep: Callable[..., Any]) -> Subset:
    """The subset keeping the annotations for which `keep(item, Label)` is true."""
    annotations = Annotations.of(subset)
    rows = np.fromiter(
        (
            bool(keep(ItemView(subset, int(owner)), Label(int(code))))
            for owner, code in zip(annotations.owner, annotations.codes, strict=True)
        ),
        bool,
        len(annotations),
    )
    return with_annotations(subset, rows)


def with_annotations(subset: Subset, rows: np.ndarray) -> Subset:
    """The subset keeping only the annotation rows marked in `rows` (items are all kept)."""
    annotations = Annotations.of(subset)
    owners, codes = annotations.owner[rows], annotations.codes[rows]
    labels = np.full(len(subset), NO_LABEL, dtype=np.asarray(subset.labels).dtype)
    first_owner, first = np.unique(owners, return_index=True)
    labels[first_owner] = codes[first]
    multi = {}
    if subset.multi_labels:
        counts = np.bincount(owners, minlength=len(subset))
        for owner in np.flatnonzero(counts > 1).tolist():
            multi[owner] = tuple(codes[owners == owner].tolist())
    return dataclasses.replace(subset, labels=labels, multi_labels=multi)


def filter_dataset(
    dataset: Dataset,
    expression: str | Callable[[ItemView], bool],
    mode: str = "items",
    *,
    progress=None,
) -> Dataset:
    """A new dataset filtered by an XPath expression or a Python predicate: `item -> bool` in
    items mode, `(item, annotation) -> bool` in the annotation modes (Datumaro's two kinds).
    The filter is recorded in the result's provenance."""
    result = _filtered(dataset, expression, mode, progress)
    kind = "predicate" if callable(expression) else "xpath"
    step = LineageStep("filter", kind, {"expression": plain(expression), "mode": mode})
    result.lineage = dataset.lineage.then(step)
    return result


def _filtered(
    dataset: Dataset, expression: str | Callable[[ItemView], bool], mode: str, progress: Any
) -> Dataset:
    if callable(expression):
        mode = normalize_mode(mode)
        kept = []
        for subset in dataset.subsets().values():
            if mode == "items":
                mask = np.fromiter((bool(expression(item)) for item in subset), bool, len(subset))
                part = subset.take(mask)
            else:
                part = _annotations_by_predicate(subset, expression)
                if mode == "items+annotations":
                    part = part.take(np.asarray(part.labels) != NO_LABEL)
            if len(part):
                kept.append(part)
        return type(dataset)(kept, dataset.categories, dataset.info)
    compiled = Filter(expression)
    kept = [
        filter_subset(subset, dataset.categories, compiled, mode, progress)
        for subset in dataset.subsets().values()
    ]
    return type(dataset)(
        [subset for subset in kept if len(subset)], dataset.categories, dataset.info
    )
