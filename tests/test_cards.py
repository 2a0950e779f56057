"""Dataset cards (README.md + croissant.json) and provenance: what `save(card=True)` writes,
that `datasets` and `mlcroissant` read it as the same data, determinism, ownership on overwrite,
provenance through load -> transform -> save -> load -> info, verify against the card, and
hostile names and cards."""

from __future__ import annotations

import gzip
import hashlib
import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.cli import main
from engine.format.spec_format import SpecFormat
from engine.model import Subset
from engine.ops.card import CROISSANT, README, is_our_card
from engine.registry import catalog
from specs.mnist import like_mnist
from specs.schema import KnownFile, Sources
from tests.conftest import make_dataset

yaml = pytest.importorskip("yaml")


def front_matter(folder: Path) -> dict:
    text = (folder / README).read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("\n---\n", 1)[0][4:])


def croissant_of(folder: Path) -> dict:
    return json.loads((folder / CROISSANT).read_text(encoding="utf-8"))


def mlc_dataset(folder: Path):
    """mlcroissant's reading of the card: validation errors raise, warnings are allowed."""
    mlcroissant = pytest.importorskip("mlcroissant")
    dataset = mlcroissant.Dataset(jsonld=str(folder / CROISSANT))
    assert not dataset.metadata.ctx.issues.errors
    return dataset


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in (README, CROISSANT))


@pytest.fixture
def split_sample() -> engine.Dataset:
    dataset = engine.load(None, engine.sample_path())
    return dataset.split(train=0.8, val=0.1, test=0.1, seed=7)


# -- the Hugging Face card -----------------------------------------------------------------------
def test_parquet_card_configs_load_with_datasets(tmp_path, split_sample, hf_datasets):
    pytest.importorskip("pyarrow")
    out = tmp_path / "pq"
    engine.save(split_sample, "parquet", out, card=True)
    meta = front_matter(out)
    assert meta["task_categories"] == ["image-classification"]
    assert meta["license"] == "unknown"  # a synthetic sample: no known dataset's license
    assert meta["mnist_engine"]["format"] == "parquet"
    (config,) = meta["configs"]
    files = {entry["split"]: entry["path"] for entry in config["data_files"]}
    assert sorted(p for paths in files.values() for p in paths) == data_files(out)
    info = meta["dataset_info"]
    names = info["features"][1]["dtype"]["class_label"]["names"]
    assert names == {str(i): str(i) for i in range(10)}
    sizes = {split["name"]: split["num_examples"] for split in info["splits"]}
    assert sizes == {name: len(part) for name, part in split_sample.subsets().items()}
    assert info["download_size"] == sum((out / f).stat().st_size for f in data_files(out))

    loaded = hf_datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert {name: loaded[name].num_rows for name in loaded} == sizes
    assert loaded["train"].features["label"].names == list(split_sample.categories)
    row = loaded["val"][0]
    first = split_sample["val"][0]
    assert np.array_equal(np.asarray(row["image"]), first.image)
    assert row["label"] == first.label


def test_readme_body_has_tables_and_provenance(tmp_path, split_sample):
    out = tmp_path / "m"
    engine.save(split_sample, "mnist", out, card=True)
    text = (out / README).read_text(encoding="utf-8")
    for heading in ("## Summary", "## Classes per subset", "## Files", "## Provenance"):
        assert heading in text
    assert "transform random_split" in text and "seed 7" in text
    for name in data_files(out):
        assert sha256(out / name) in text


# -- Croissant -------------------------------------------------------------------------------------
def test_parquet_croissant_validates_and_yields_our_items(tmp_path, split_sample):
    pytest.importorskip("pyarrow")
    out = tmp_path / "pq"
    engine.save(split_sample, "parquet", out, card=True)
    doc = croissant_of(out)
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    files = [d for d in doc["distribution"] if d["@type"] == "cr:FileObject"]
    assert sorted(f["contentUrl"] for f in files) == data_files(out)
    for entry in files:
        path = out / entry["contentUrl"]
        assert entry["sha256"] == sha256(path)
        assert entry["contentSize"] == f"{path.stat().st_size} B"
        assert entry["encodingFormat"] == "application/x-parquet"

    dataset = mlc_dataset(out)
    classes = [r["classes/name"] for r in dataset.records("classes")]
    assert classes == list(split_sample.categories)
    ours = Counter()
    for name, part in split_sample.subsets().items():
        for index in range(len(part)):
            ours[(name, int(part.labels[index]), part.images[index].tobytes())] += 1
    theirs = Counter()
    for record in dataset.records("default"):
        split = record["default/split"]
        split = split.decode() if isinstance(split, bytes) else split
        image = np.asarray(record["default/image"])
        theirs[(split, int(record["default/label"]), image.tobytes())] += 1
    assert theirs == ours


def test_idx_croissant_validates_and_hashes_match(tmp_path):
    out = tmp_path / "mnist"
    engine.save(make_dataset(), "mnist", out, card=True)
    dataset = mlc_dataset(out)
    assert [r["classes/label"] for r in dataset.records("classes")] == list(range(10))
    files = [d for d in croissant_of(out)["distribution"] if d["@type"] == "cr:FileObject"]
    assert sorted(f["contentUrl"] for f in files) == data_files(out)
    assert all(f["sha256"] == sha256(out / f["contentUrl"]) for f in files)
    assert front_matter(out)["dataset_info"]["splits"]  # sizes, though no configs for IDX
    assert "configs" not in front_matter(out)


@pytest.mark.parametrize("fmt", [f for f in engine.formats() if f != "emnist"])
def test_every_format_card_validates_and_detection_is_unchanged(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.LabelsNotStoredWarning)
        engine.save(make_dataset((("default", 6),)), fmt, tmp_path / "plain")
        engine.save(make_dataset((("default", 6),)), fmt, tmp_path / "carded", card=True)
    assert engine.detect(tmp_path / "carded") == engine.detect(tmp_path / "plain")
    engine.save(make_dataset(), fmt, tmp_path / fmt, card=True)
    out = tmp_path / fmt
    dataset = mlc_dataset(out)
    assert len(list(dataset.records("classes"))) == 10
    listed = {
        d["contentUrl"]: d["sha256"]
        for d in croissant_of(out)["distribution"]
        if d["@type"] == "cr:FileObject"
    }
    written = {
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and p.name not in (README, CROISSANT)
    }
    assert set(listed) == written
    assert all(listed[name] == sha256(out / name) for name in written)


# -- determinism -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["parquet", "mnist"])
def test_seeded_split_exported_twice_is_byte_identical(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    for name in ("one", "two"):
        dataset = engine.load(None, engine.sample_path()).split(train=0.75, test=0.25, seed=3)
        engine.save(dataset, fmt, tmp_path / name, card=True)
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    assert README in names and CROISSANT in names
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert "datePublished" not in croissant_of(tmp_path / "one")


def test_source_date_epoch_sets_a_fixed_date(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    engine.save(make_dataset(), "mnist", tmp_path / "a", card=True)
    engine.save(make_dataset(), "mnist", tmp_path / "b", card=True)
    assert croissant_of(tmp_path / "a")["datePublished"] == "2023-11-14T22:13:20Z"
    assert (tmp_path / "a" / CROISSANT).read_bytes() == (tmp_path / "b" / CROISSANT).read_bytes()


def test_unseeded_split_records_the_seed_it_drew(tmp_path):
    dataset = engine.load(None, engine.sample_path()).split(train=0.5, test=0.5)
    (step,) = dataset.lineage.steps
    assert step.name == "random_split" and isinstance(step.seed, int)
    again = engine.load(None, engine.sample_path()).split(train=0.5, test=0.5, seed=step.seed)
    assert engine.compare(dataset, again).equal


# -- ownership on overwrite ------------------------------------------------------------------------
def test_user_readme_is_kept_and_warned_about(tmp_path):
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out)
    (out / README).write_text("# my notes\n", encoding="utf-8")
    with pytest.warns(engine.CardWarning, match="README.md"):
        kept = engine.save(make_dataset(seed=1), "mnist", out, overwrite=True, card=True)
    assert kept == [README]
    assert (out / README).read_text(encoding="utf-8") == "# my notes\n"
    assert is_our_card(out / CROISSANT)
    assert not is_our_card(out / README)


def test_our_card_is_replaced_or_removed_on_overwrite(tmp_path):
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out, card=True)
    first = (out / CROISSANT).read_bytes()
    engine.save(make_dataset(seed=5), "mnist", out, overwrite=True, card=True)
    assert (out / CROISSANT).read_bytes() != first
    files = [d for d in croissant_of(out)["distribution"] if d["@type"] == "cr:FileObject"]
    assert all(f["sha256"] == sha256(out / f["contentUrl"]) for f in files)
    kept = engine.save(make_dataset(seed=6), "mnist", out, overwrite=True)  # no card now
    assert kept == []
    assert not (out / README).exists() and not (out / CROISSANT).exists()  # no stale card


def test_a_lookalike_card_is_not_ours(tmp_path):
    (tmp_path / README).write_text("---\nlicense: mit\n---\nmnist_engine:\n", encoding="utf-8")
    (tmp_path / CROISSANT).write_text('{"name": "mnist_engine:generator"}', encoding="utf-8")
    assert not is_our_card(tmp_path / README)
    assert not is_our_card(tmp_path / CROISSANT)


def test_cli_card_flag_on_convert(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["convert", "-i", str(engine.sample_path()), "-f", "mnist", "-o", str(out), "--card"]
    )
    assert code == 0
    assert is_our_card(out / README) and is_our_card(out / CROISSANT)


# -- provenance ------------------------------------------------------------------------------------
def test_provenance_through_load_transform_save_load_info(tmp_path, capsys):
    first = tmp_path / "first"
    dataset = engine.load(None, engine.sample_path())
    dataset.filter('/item[annotation/label!="3"]')
    dataset.transform("remap_labels", mapping={"1": "one"})
    dataset.split(train=0.5, test=0.5, seed=11)
    engine.save(dataset, "mnist", first, card=True)

    again = engine.load(None, first)
    (source,) = again.lineage.sources
    assert source.format == "mnist" and source.history is not None
    kinds = [(s.kind, s.name) for s in source.history.steps]
    assert kinds == [
        ("filter", "xpath"),
        ("transform", "remap_labels"),
        ("transform", "random_split"),
        ("save", "mnist"),
    ]
    assert source.history.steps[2].seed == 11
    (origin,) = source.history.sources
    assert {f.path for f in origin.files} >= {"train-images-idx3-ubyte.gz", "labels.txt"}
    assert all(
        f.sha256 == sha256(engine.sample_path() / f.path) for f in origin.files
    )  # the real hashes of the files read

    assert main(["info", str(first)]) == 0
    text = capsys.readouterr().out
    assert "Provenance" in text and "random_split" in text and "seed 11" in text
    assert main(["info", str(first), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["provenance"][0]["steps"][2]["seed"] == 11

    second = tmp_path / "second"
    engine.save(again.clone().transform("reindex"), "parquet", second, card=True)
    recorded = croissant_of(second)["mnist_engine:provenance"]
    (read,) = recorded["sources"]
    assert read["format"] == "mnist" and read["history"]["steps"][2]["seed"] == 11
    assert [s["name"] for s in recorded["steps"]] == ["reindex", "parquet"]
    assert recorded["engine"].startswith("mnist-engine ")


def test_merge_records_each_input(tmp_path):
    a = engine.load(None, engine.sample_path())
    b = make_dataset()
    merged = engine.merge(a, b)
    (step,) = merged.lineage.steps
    assert step.kind == "merge" and len(step.inputs) == 2
    assert step.inputs[0].sources[0].format == "mnist"
    engine.save(merged, "mnist", tmp_path / "out", card=True)
    assert "input #2" in (tmp_path / "out" / README).read_text(encoding="utf-8")


def test_known_dataset_is_confirmed_by_hash(tmp_path, monkeypatch):
    """Files equal to a spec's published files name that dataset: its license, homepage and
    citation go in the card; a folder merely in its format does not."""
    folder = tmp_path / "digits"
    engine.save(make_dataset(), "mnist", folder)
    published = [
        KnownFile(name=p.name, md5=hashlib.md5(p.read_bytes()).hexdigest(), sha256=sha256(p))
        for p in sorted(folder.iterdir())
        if p.name.endswith(".gz") and "images" in p.name
    ]
    labels = folder / "train-labels-idx1-ubyte.gz"  # published compressed otherwise: same content
    content = hashlib.md5(gzip.decompress(labels.read_bytes())).hexdigest()
    published.append(KnownFile(name=labels.name, md5="0" * 32, content_md5=content))
    sources = Sources(
        homepage="https://example.org/digits", license="MIT", citation="Digits, 2026."
    )
    spec = like_mnist("mydigits", "my digits", tuple(map(str, range(10))), published, sources)
    monkeypatch.setitem(catalog._FORMATS, "mydigits", SpecFormat(spec))

    engine.save(engine.load("mydigits", folder), "mnist", tmp_path / "known", card=True)
    meta = front_matter(tmp_path / "known")
    assert meta["license"] == "mit" and meta["pretty_name"] == "mydigits"
    doc = croissant_of(tmp_path / "known")
    assert doc["citeAs"] == "Digits, 2026." and doc["url"] == "https://example.org/digits"
    assert "Digits, 2026." in (tmp_path / "known" / README).read_text(encoding="utf-8")
    recorded = doc["mnist_engine:provenance"]["sources"][0]
    assert recorded["dataset"] == "mydigits"
    matches = {f["path"]: f.get("match") for f in recorded["files"]}
    assert matches[published[0].name] == "identical"
    assert matches[labels.name] == "same content"
    assert matches["labels.txt"] is None

    engine.save(engine.load("mydigits", folder, subset="test"), "mnist", tmp_path / "t", card=True)
    read = croissant_of(tmp_path / "t")["mnist_engine:provenance"]["sources"][0]
    assert read["subset"] == "test"
    assert {f["path"] for f in read["files"]} == {
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "labels.txt",
    }  # the files of the subset read, not the train files beside them

    other = tmp_path / "other"
    engine.save(make_dataset(seed=9), "mnist", other)
    engine.save(engine.load("mydigits", other), "mnist", tmp_path / "unknown", card=True)
    assert front_matter(tmp_path / "unknown")["license"] == "unknown"
    assert "citeAs" not in croissant_of(tmp_path / "unknown")


def test_a_source_changed_after_reading_is_not_hashed(tmp_path):
    folder = tmp_path / "src"
    engine.save(make_dataset(), "mnist", folder)
    dataset = engine.load(None, folder)
    (folder / "labels.txt").write_text("changed\n" * 50, encoding="utf-8")
    engine.save(dataset, "mnist", tmp_path / "out", card=True)
    files = croissant_of(tmp_path / "out")["mnist_engine:provenance"]["sources"][0]["files"]
    by_name = {f["path"]: f["sha256"] for f in files}
    assert by_name["labels.txt"] is None
    assert by_name["train-images-idx3-ubyte.gz"] == sha256(folder / "train-images-idx3-ubyte.gz")


# -- verify ----------------------------------------------------------------------------------
def test_verify_knows_the_card_and_reports_changed_files(tmp_path, capsys):
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out, card=True)
    checks = {c.path.name: c.status for c in engine.verify(out)}
    assert checks[README] == "card" and checks[CROISSANT] == "card"
    assert all(
        status == "recorded" for name, status in checks.items() if name not in (README, CROISSANT)
    )
    assert main(["verify", str(out)]) == 0

    with open(out / "train-labels-idx1-ubyte.gz", "ab") as handle:
        handle.write(b"\0")
    (out / "t10k-labels-idx1-ubyte.gz").unlink()
    checks = {c.path.name: c for c in engine.verify(out)}
    assert checks["train-labels-idx1-ubyte.gz"].status == "differs"
    assert checks["t10k-labels-idx1-ubyte.gz"].status == "missing"
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1


def test_verify_ignores_card_paths_outside_the_folder(tmp_path):
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out, card=True)
    doc = croissant_of(out)
    (tmp_path / "secret").write_text("not the export's", encoding="utf-8")
    (out / "link").symlink_to(tmp_path, target_is_directory=True)
    for url in ("../secret", "/etc/passwd", "a/../../b", "http://example.org/x", "link/secret"):
        doc["distribution"].append(
            {"@type": "cr:FileObject", "contentUrl": url, "sha256": "0" * 64, "contentSize": "1 B"}
        )
    (out / CROISSANT).write_text(json.dumps(doc), encoding="utf-8")
    checks = engine.verify(out)
    assert all(out in c.path.parents for c in checks)
    assert not [c for c in checks if c.status == "missing"]


# -- hostile ---------------------------------------------------------------------------------------
HOSTILE = [
    'a "quoted" name',
    "colon: here",
    "ünïcødé ✓ 数字",
    "---",
    "#hash",
    "`tick```",
    "|pipe|",
    "yes",
    "null",
    "{brace}",
]


def test_hostile_class_names_round_trip_in_both_files(tmp_path, hf_datasets):
    pytest.importorskip("pyarrow")
    dataset = make_dataset()
    dataset.categories = HOSTILE
    out = tmp_path / "pq"
    engine.save(dataset, "parquet", out, card=True)
    meta = front_matter(out)
    names = meta["dataset_info"]["features"][1]["dtype"]["class_label"]["names"]
    assert names == {str(i): name for i, name in enumerate(HOSTILE)}
    assert [r["classes/name"] for r in mlc_dataset(out).records("classes")] == HOSTILE
    loaded = hf_datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert loaded["train"].features["label"].names == HOSTILE
    body = (out / README).read_text(encoding="utf-8").split("\n---\n", 1)[1]
    assert "\n---\n" not in body.split("## Provenance")[0]  # no name breaks the page


def test_newline_in_a_class_name_is_refused_before_writing(tmp_path):
    dataset = make_dataset()
    dataset.categories = [*map(str, range(9)), "new\nline"]
    with pytest.raises(engine.ValidationError):
        engine.save(dataset, "parquet", tmp_path / "out", card=True)
    assert not (tmp_path / "out").exists()


def test_empty_subset_and_unusable_split_names(tmp_path, hf_datasets):
    pytest.importorskip("pyarrow")
    empty = Subset(
        name="val",
        labels=np.zeros(0, np.int32),
        images=np.zeros((0, 28, 28), np.uint8),
    )
    dataset = make_dataset()
    dataset = engine.Dataset([*dataset.subsets().values(), empty], dataset.categories)
    out = tmp_path / "pq"
    engine.save(dataset, "parquet", out, card=True)
    meta = front_matter(out)
    assert [s["name"] for s in meta["dataset_info"]["splits"]] == ["train", "test"]
    assert "| subset val | 0 |" in (out / README).read_text(encoding="utf-8")
    loaded = hf_datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert sorted(loaded) == ["test", "train"]
    mlc_dataset(out)

    spaced = engine.Dataset(
        {"my split": make_dataset()["train"], "test": make_dataset()["test"]},
        dataset.categories,
    )
    with pytest.warns(engine.CardWarning, match="split names"):
        engine.save(spaced, "parquet", tmp_path / "spaced", card=True)
    assert "configs" not in front_matter(tmp_path / "spaced")
    mlc_dataset(tmp_path / "spaced")  # ids without white space, whatever the file names


def test_unlabeled_dataset(tmp_path):
    pytest.importorskip("pyarrow")
    dataset = make_dataset()
    parts = [
        Subset(name=p.name, labels=np.full(len(p), -1, np.int32), images=p.images)
        for p in dataset.subsets().values()
    ]
    unlabeled = engine.Dataset(parts, [])
    out = tmp_path / "pq"
    engine.save(unlabeled, "parquet", out, card=True)
    assert "(no label)" in (out / README).read_text(encoding="utf-8")
    records = list(mlc_dataset(out).records("default"))
    assert len(records) == len(dataset)
    assert {int(r["default/label"]) for r in records} == {-1}


@pytest.mark.parametrize(
    "provenance",
    [
        '"not an object"',
        '{"sources": 5}',
        "[" * 100_000 + "]" * 100_000,
        '{"steps": [{"kind": 1}]}',
    ],
)
def test_broken_recorded_provenance_is_warned_and_left_out(tmp_path, provenance):
    out = tmp_path / "out"
    engine.save(make_dataset(), "mnist", out, card=True)
    text = (out / CROISSANT).read_text(encoding="utf-8")
    start = text.rindex('"mnist_engine:provenance"')
    (out / CROISSANT).write_text(
        text[:start] + '"mnist_engine:provenance": ' + provenance + "\n}\n", encoding="utf-8"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = engine.load(None, out)
    assert loaded.lineage.sources[0].history is None
    assert any(issubclass(w.category, engine.CardWarning) for w in caught)


def test_unlabeled_idx_card_validates(tmp_path):
    dataset = make_dataset()
    parts = [
        Subset(name=p.name, labels=np.full(len(p), -1, np.int32), images=p.images)
        for p in dataset.subsets().values()
    ]
    engine.save(engine.Dataset(parts, []), "mnist", tmp_path / "out", card=True)
    mlc_dataset(tmp_path / "out")


def test_relative_source_is_hashed_after_a_chdir(tmp_path, monkeypatch):
    engine.save(make_dataset(), "mnist", tmp_path / "src")
    monkeypatch.chdir(tmp_path)
    dataset = engine.load(None, "src")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    engine.save(dataset, "mnist", tmp_path / "out", card=True)
    (source,) = croissant_of(tmp_path / "out")["mnist_engine:provenance"]["sources"]
    assert source["path"] == "src"  # as given: no home folder in a shared card
    assert source["files"] and all(f["sha256"] for f in source["files"])


def test_card_after_double_dash_is_a_usage_error(tmp_path, capsys):
    argv = ["convert", "-i", str(engine.sample_path()), "-f", "mnist", "-o", str(tmp_path / "o")]
    assert main([*argv, "--", "--card"]) == 2
    assert "before '--'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_datumaro_export_then_save_keeps_the_card(tmp_path):
    dataset = engine.Dataset.import_from(str(engine.sample_path()), "mnist")
    dataset.export(tmp_path / "out", "mnist", card=True)
    first = croissant_of(tmp_path / "out")
    dataset.transform("reindex", start=1)
    dataset.save()  # Datumaro's save: the bound folder, format and options (the card too)
    again = croissant_of(tmp_path / "out")
    steps = [s["name"] for s in again["mnist_engine:provenance"]["steps"]]
    assert steps == ["reindex", "mnist"] and again != first


@pytest.mark.parametrize("fmt", ["imagenet", "image_dir"])
@pytest.mark.parametrize("counts", [(("train", 7), ("test", 5)), (("default", 6),)])
def test_image_folder_croissant_yields_our_items(tmp_path, fmt, counts):
    """Class and subset folders are what Croissant can read from the paths: mlcroissant gives
    each image with its class name (imagenet) and split, equal to ours."""
    dataset = make_dataset(counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.LabelsNotStoredWarning)
        engine.save(dataset, fmt, tmp_path / "out", card=True)
    records = list(mlc_dataset(tmp_path / "out").records("default"))
    several = len(counts) > 1

    def text(value) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    def grey(image) -> bytes:  # mlcroissant opens image files as RGB: three equal channels
        pixels = np.asarray(image)
        if pixels.ndim == 3:
            assert (pixels == pixels[..., :1]).all()
            pixels = pixels[..., 0]
        return pixels.tobytes()

    theirs = Counter(
        (
            text(r["default/split"]) if several else None,
            text(r["default/label"]) if fmt == "imagenet" else None,
            grey(r["default/image"]),
        )
        for r in records
    )
    ours = Counter(
        (
            name if several else None,
            dataset.categories[int(part.labels[i])] if fmt == "imagenet" else None,
            part.images[i].tobytes(),
        )
        for name, part in dataset.subsets().items()
        for i in range(len(part))
    )
    assert theirs == ours
