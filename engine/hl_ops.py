"""Datumaro 1.x's `HLOps`: the high-level operations as functions that leave their input
unchanged and return a new dataset (where `Dataset.filter`/`transform` change it in place)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from engine.api import Dataset, compare, merge
from engine.errors import NotSupportedError
from engine.model import Dataset as ModelDataset
from engine.ops.checks import dataset_consistency
from engine.ops.compare import Comparison

#: the task types `validate` knows (every MNIST-family dataset is a classification dataset)
TASKS = ("classification",)


def _own(dataset: ModelDataset) -> Dataset:
    """A public dataset of its own, so the verb applied to it leaves `dataset` unchanged."""
    return dataset.clone() if isinstance(dataset, Dataset) else Dataset.adopt(dataset).clone()


def _refuse_env(env: Any, verb: str) -> None:
    if env is not None:
        raise NotSupportedError(f"HLOps.{verb}(env=...): plugin environments are not supported")


class HLOps:
    """High-level dataset operations (Datumaro's names); none changes its input."""

    @staticmethod
    def filter(
        dataset: ModelDataset,
        expr: str | Callable[..., bool],
        *,
        filter_annotations: bool = False,
        remove_empty: bool = False,
    ) -> Dataset:
        """A filtered dataset (see `Dataset.filter`)."""
        return _own(dataset).filter(
            expr, filter_annotations=filter_annotations, remove_empty=remove_empty
        )

    @staticmethod
    def transform(
        dataset: ModelDataset, method: str, *, env: Any = None, **options: Any
    ) -> Dataset:
        """A transformed dataset (see `Dataset.transform`)."""
        _refuse_env(env, "transform")
        return _own(dataset).transform(method, **options)

    @staticmethod
    def merge(
        *datasets: ModelDataset, merge_policy: str = "union", report_path: Any = None, **kw: Any
    ) -> Dataset:
        """The datasets merged by Datumaro's `merge_policy` (see `engine.merge`)."""
        if report_path is not None or kw:
            given = "report_path" if report_path is not None else next(iter(kw))
            raise NotSupportedError(
                f"HLOps.merge({given}=...): not supported; clashes are reported as warnings "
                "(IdsRenumberedWarning) or refused (ValidationError)"
            )
        return merge(*datasets, merge_policy=merge_policy)

    @staticmethod
    def aggregate(dataset: ModelDataset, from_subsets: Iterable[str], to_subset: str) -> Dataset:
        """The subsets `from_subsets` joined into one subset `to_subset`."""
        names = list(from_subsets)
        missing = [name for name in names if name not in dataset.subsets()]
        if missing:
            raise ValueError(
                f"aggregate: no subset {missing[0]!r}; the subsets are {list(dataset.subsets())}"
            )
        return HLOps.transform(dataset, "map_subsets", mapping=dict.fromkeys(names, to_subset))

    @staticmethod
    def export(
        dataset: ModelDataset, path: str | Path, format: str, *, env: Any = None, **options: Any
    ) -> list[str]:
        """Writes the dataset as `Dataset.export` does (an earlier export is replaced)."""
        _refuse_env(env, "export")
        public = dataset if isinstance(dataset, Dataset) else Dataset.adopt(dataset)
        return public.export(path, format, **options)

    @staticmethod
    def compare(
        first_dataset: ModelDataset,
        second_dataset: ModelDataset,
        report_dir: str | Path | None = None,
        method: str = "table",
        **options: Any,
    ) -> Comparison:
        """What differs between two datasets (`engine.compare`); with `report_dir`, the
        comparison is also written there as `comparison.json`. Methods `table` and `equality`
        compare the same way here (by subset and id: labels and pixels)."""
        if method not in ("table", "equality") or options:
            raise NotSupportedError(
                f"HLOps.compare(method={method!r}{', ...' if options else ''}): only the "
                "'table' and 'equality' comparisons are supported"
            )
        result = compare(first_dataset, second_dataset)
        if report_dir is not None:
            folder = Path(report_dir)
            folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
            (folder / "comparison.json").write_text(text, encoding="utf-8")
        return result

    @staticmethod
    def validate(
        dataset: ModelDataset, task: str = "classification", *, env: Any = None, **options: Any
    ) -> dict[str, Any]:
        """The dataset's consistency checks for a classification task, as
        `{"problems": [...], "notes": [...]}`."""
        _refuse_env(env, "validate")
        name = str(getattr(task, "name", task))
        if name not in TASKS or options:
            raise NotSupportedError(
                f"HLOps.validate({name!r}): only the classification task is supported"
                + (f" (without {', '.join(options)})" if options else "")
            )
        report = dataset_consistency(dataset)
        return {"problems": list(report.problems), "notes": list(report.notes)}

    @staticmethod
    def run_model(*args: Any, **kwargs: Any) -> Dataset:
        raise NotSupportedError("HLOps.run_model: model inference is not part of this engine")
