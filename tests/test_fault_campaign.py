"""Regression tests for what the fault campaign of issue 19 found: each bad input is refused
with an EngineError naming the file (one line and exit 2 from the CLI), never a foreign exception,
a crash, a hang or unbounded memory."""

from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import engine
from engine import FormatError, SpecError, ValidationError
from tests.cli_helpers import ROOT, run_cli, run_main
from tests.conftest import make_dataset

SAMPLE = ROOT / "engine" / "samples" / "mnist"


def _run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter: a crash (SIGSEGV) or a hang fails the test, not the
    test runner."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- 1. nothing lost: the constructor keeps classes, every writer refuses labels outside them ------
WRITERS = [
    "mnist",
    "mnist_csv",
    "cifar",
    "imagenet",
    "imagenet_txt",
    "image_dir",
    "image_zip",
    "parquet",
    "webdataset",
]


def test_a_dataset_made_of_subsets_keeps_their_classes():
    source = make_dataset()
    built = engine.Dataset({"train": source["train"], "val": source["test"]})
    assert list(built.categories) == [str(d) for d in range(10)]
    assert set(built.subsets()) == {"train", "val"}


@pytest.mark.parametrize("fmt", WRITERS)
def test_every_writer_refuses_labels_outside_the_class_list(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    source = make_dataset()
    narrow = dataclasses.replace(source["train"], categories=("0", "1"))
    with pytest.raises(ValidationError, match="train:"):
        engine.save(engine.Dataset({"train": narrow}, categories=["0", "1"]), fmt, tmp_path / "o")
    raw = engine.Subset(
        name="train", labels=np.array([7, 2, 1], np.int32), images=np.zeros((3, 28, 28), np.uint8)
    )
    with pytest.raises(ValidationError, match="train:0"):
        engine.save(engine.Dataset({"train": raw}), fmt, tmp_path / "p")
    assert not (tmp_path / "o").exists() and not (tmp_path / "p").exists()


# -- 2. detection says which format the names point to and why its files failed ----------------
def test_info_on_a_corrupt_mnist_names_the_file_and_the_byte(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    for file in SAMPLE.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    images = folder / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw[:-100]))
    code, _out, err = run_main("info", str(folder))
    assert code == 2
    assert "t10k-images-idx3-ubyte.gz: byte" in err and "mnist" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


# -- 3. a broken user spec: a warning naming it, the other formats still work ---------------------
def test_a_broken_user_spec_warns_and_the_others_still_load(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "mybad.py").write_text("from specs.schema import DatasetSpec\nSPEC = DatasetSpec()\n")
    (specs / "exits.py").write_text("raise SystemExit(5)\n")
    env = {"MNIST_ENGINE_SPEC_PATH": str(specs)}
    code, out, err = run_cli("info", str(SAMPLE), env=env)
    assert code == 0, err
    assert "items:   700" in out
    assert err.count("mybad.py") == 1 and err.count("exits.py") == 1
    code, _out, err = run_cli("info", "-if", "mybad", str(SAMPLE), env=env)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("mnist-engine: error:")
    assert "mybad.py" in err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '{"schema_version": ' + "9" * 5000 + "}"],
    ids=["deep", "huge-int"],
)
def test_a_hostile_json_spec_is_a_spec_error_and_a_warning(tmp_path, text):
    from engine.registry.spec_sources import load_spec_file

    (tmp_path / "hostile.json").write_text(text)
    with pytest.raises(SpecError, match=r"hostile\.json: not a valid spec"):
        load_spec_file(tmp_path / "hostile.json")
    code, out, err = run_cli("info", str(SAMPLE), env={"MNIST_ENGINE_SPEC_PATH": str(tmp_path)})
    assert code == 0 and "items:   700" in out and "hostile.json" in err


def test_a_spec_file_that_exits_is_a_spec_error(tmp_path):
    from engine.registry.spec_sources import load_spec_file

    (tmp_path / "exits.py").write_text("raise SystemExit(5)\n")
    with pytest.raises(SpecError, match=r"exits\.py"):
        load_spec_file(tmp_path / "exits.py")


# -- 4. a crafted CIFAR batch never reaches numpy with a dtype holding references -----------------
def _crafted_batch(dtype_code: bytes) -> bytes:
    """A protocol-2 batch whose data array declares `dtype_code` over raw bytes (the SIGSEGV
    the campaign found from one duplicated byte)."""
    data = pickle.dumps(
        {"data": np.arange(2, dtype=np.int64) + 0x4141414141, "labels": [0, 1]}, protocol=2
    )
    crafted = data.replace(b"X\x02\x00\x00\x00i8", b"X\x02\x00\x00\x00" + dtype_code)
    assert crafted != data
    return crafted


@pytest.mark.parametrize("dtype_code", [b"O8", b"V8", b"M8", b"U2"])
def test_a_crafted_batch_with_a_reference_dtype_is_refused_before_numpy(tmp_path, dtype_code):
    cifar = tmp_path / "cifar"
    engine.save(make_dataset(), "cifar", cifar)
    (cifar / "train").write_bytes(_crafted_batch(dtype_code))
    done = _run_python(
        f"""
        import engine
        try:
            engine.load("cifar", {str(cifar)!r})
        except engine.FormatError as error:
            print("refused:", error)
        """
    )
    assert done.returncode == 0, done.stderr  # -11 was the SIGSEGV
    assert "refused:" in done.stdout and "train" in done.stdout and "dtype" in done.stdout
    code, _out, err = run_cli("info", str(cifar))
    assert code == 2 and "Traceback" not in err and "train" in err


def test_a_structured_dtype_holding_objects_is_refused(tmp_path):
    from engine.io.safepickle import load_restricted

    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(np.zeros(2, dtype=[("a", "O"), ("b", "i4")]), protocol=2))
    with pytest.raises(FormatError, match="not plain numeric"):
        load_restricted(path)
    path.write_bytes(pickle.dumps(np.zeros(2, dtype=[("a", "u1")]), protocol=5))
    with pytest.raises(FormatError, match="not plain numeric"):
        load_restricted(path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_plain_numeric_pickles_still_load(tmp_path, protocol):
    from engine.io.safepickle import load_restricted

    values = {
        "data": np.arange(60, dtype=np.uint8).reshape(4, 15),
        "wide": np.arange(4, dtype=">u4"),
        "fortran": np.asfortranarray(np.ones((2, 3))),
        "scalar": np.float32(1.5),
        "labels": [0, 1, 2, 3],
    }
    path = tmp_path / "batch"
    path.write_bytes(pickle.dumps(values, protocol=protocol))
    read = load_restricted(path)
    for key in ("data", "wide", "fortran"):
        assert np.array_equal(read[key], values[key])
        assert read[key].dtype.type == values[key].dtype.type  # numpy's own loads: same type
    assert read["scalar"] == values["scalar"] and read["labels"] == values["labels"]


# -- 5. names that lead to a FIFO or a device are refused, never opened as data -----------------
def _replace_with(path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize(
    ("fmt", "name"), [("imagenet_txt", "default.txt"), ("image_zip", "default.zip")]
)
def test_a_named_file_that_is_not_regular_is_refused(tmp_path, fmt, name, kind):
    folder = tmp_path / fmt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", engine.LabelsNotStoredWarning)
        engine.save(make_dataset(counts=(("default", 4),)), fmt, folder, save_dataset_meta=False)
    _replace_with(folder / name, kind)
    done = _run_python(
        f"""
        import resource, engine
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        try:
            engine.load({fmt!r}, {str(folder)!r})
        except engine.FormatError as error:
            print("refused:", error)
        """,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"{name}: not a regular file" in done.stdout


def test_regular_file_helpers(tmp_path):
    from engine.io.regular import open_regular, read_regular, read_regular_text

    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FormatError, match="FIFO"):
        open_regular(tmp_path / "pipe")  # returns at once: the open does not block
    (tmp_path / "dir").mkdir()
    with pytest.raises(FormatError, match="folder"):
        read_regular(tmp_path / "dir")
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(FormatError, match="device"):
        read_regular(tmp_path / "zero")
    (tmp_path / "big").write_bytes(b"x" * 100)
    with pytest.raises(FormatError, match="more than the 10"):
        read_regular(tmp_path / "big", max_bytes=10)
    (tmp_path / "text").write_bytes(b"ok\xff")
    with pytest.raises(FormatError, match="byte 2"):
        read_regular_text(tmp_path / "text")
    with pytest.raises(FormatError, match="too long"):
        read_regular(tmp_path / ("x" * 5000))


# -- 6. save-back of mutated qmnist datasets ends ------------------------------------------------
def test_mutated_qmnist_datasets_save_back_without_hanging(tmp_path):
    done = _run_python(
        """
        import sys
        sys.path.insert(0, "tools")
        import os
        os.environ["FUZZ_SAVE_BACK_EVERY"] = "1"
        import fuzz
        table = fuzz.fuzz(["qmnist"], 60, seed=19, timeout=20.0, workers=1)
        print(table.render())
        print("bad", sum(table.total(o) for o in fuzz.BAD_OUTCOMES))
        """,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "bad 0" in done.stdout, done.stdout


# -- 7. JSON from files: size, depth, numbers and types checked --------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"labels": [' + "9" * 5000 + "]}", "integer of 5000 digits"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ('{"labels": ' + "[" * 3000 + "]" * 3000 + "}", "nested too deeply"),
        ("1.5", "JSON number, expected a JSON object"),
        ('{"labels": 1.5}', "'labels' is a JSON number"),
        ('{"label_map": ["a"]}', "'label_map' is a JSON array"),
        ('{"labels": [{"a": 1}]}', "class name"),
    ],
    ids=["huge-int", "deep", "deep-field", "top-float", "labels-float", "map-list", "name-dict"],
)
def test_dataset_meta_json_is_checked(tmp_path, text, message):
    engine.save(make_dataset(), "mnist", tmp_path / "m")
    (tmp_path / "m" / "dataset_meta.json").write_text(text)
    with pytest.raises(FormatError, match=r"dataset_meta\.json") as caught:
        engine.load("mnist", tmp_path / "m")
    assert message in str(caught.value)


def _rewrite_parquet(folder, change) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    for file in folder.glob("*.parquet"):
        table = pq.read_table(file)
        pq.write_table(change(table), file)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (b"1.5", "'huggingface' is a JSON number"),
        (b'{"info": 1.5}', "'info' is a JSON number"),
        (b'{"info": {"features": [1]}}', "'features' is a JSON array"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'{"x": ' + b"7" * 5000 + b"}", "digits"),
    ],
    ids=["float", "info-float", "features-list", "deep", "huge-int"],
)
def test_parquet_metadata_of_the_wrong_type_is_a_format_error(tmp_path, metadata, message):
    pytest.importorskip("pyarrow")
    engine.save(make_dataset(), "parquet", tmp_path / "p")

    def change(table):
        return table.replace_schema_metadata({**table.schema.metadata, b"huggingface": metadata})

    _rewrite_parquet(tmp_path / "p", change)
    with pytest.raises(FormatError, match=message):
        engine.load("parquet", tmp_path / "p")
    code, _out, err = run_main("info", str(tmp_path / "p"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and ".parquet" in err


def test_parquet_without_an_image_column_loads_without_images(tmp_path):
    pytest.importorskip("pyarrow")
    engine.save(make_dataset(), "parquet", tmp_path / "p")
    _rewrite_parquet(
        tmp_path / "p",
        lambda t: t.drop_columns(["image"]).replace_schema_metadata(t.schema.metadata),
    )
    loaded = engine.load("parquet", tmp_path / "p")
    assert loaded["train"].images is None and len(loaded["train"]) == 7


def test_webdataset_json_member_is_checked(tmp_path):
    import io
    import tarfile

    shard = tmp_path / "w" / "default-000000.tar"
    shard.parent.mkdir()
    with tarfile.open(shard, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("0.cls", b"1"), ("0.json", b'{"id": ' + b"8" * 5000 + b"}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(FormatError, match=r"member 0\.json holds an integer"):
        engine.load("webdataset", tmp_path / "w")


# -- 8. paths and names --------------------------------------------------------------------------
def _project(tmp_path, extra: str = "", path: str = "digits"):
    engine.save(make_dataset(), "mnist", tmp_path / "digits")
    (tmp_path / "project.toml").write_text(
        f'[[source]]\nname = "digits"\nformat = "mnist"\npath = "{path}"\n\n{extra}'
    )
    from engine.project import Project

    return Project.open(tmp_path)


def test_a_project_source_path_too_long_is_a_project_error(tmp_path):
    with pytest.raises(engine.ProjectError, match="too long"):
        _project(tmp_path, path="x" * 5000).dataset()


def test_a_project_filter_nested_too_deeply_is_a_filter_error(tmp_path):
    deep = "/item[" + "(" * 3000 + "annotation/label>=0" + ")" * 3000 + "]"
    project = _project(tmp_path, f'[[filter]]\nexpression = "{deep}"\n')
    with pytest.raises(engine.FilterError, match="nested more than 100 deep") as caught:
        project.dataset()
    assert len(str(caught.value)) < 500  # a window of the expression, not all of it
    code, _out, err = run_main("filter", "-e", deep, str(tmp_path / "digits"), "-o", "x")
    assert code == 2 and "Traceback" not in err and "nested more than 100" in err


def test_a_project_transform_on_a_missing_subset_is_a_project_error(tmp_path):
    extra = '[[transform]]\nname = "map_subsets"\noptions = ["-s", "gone:x"]\n'
    with pytest.raises(engine.ProjectError, match=r"transform #1 \(map_subsets\).*'gone'"):
        _project(tmp_path, extra).dataset()


def test_a_folder_where_a_shard_belongs_is_not_webdataset(tmp_path):
    engine.save(make_dataset(), "webdataset", tmp_path / "w")
    shard = next((tmp_path / "w").glob("train-*.tar"))
    shard.unlink()
    shard.mkdir()
    assert "webdataset" not in engine.detect(tmp_path / "w")
    with pytest.raises(FormatError, match="not a regular file"):
        engine.load("webdataset", tmp_path / "w")


def test_a_cls_value_beyond_int32_is_a_format_error(tmp_path):
    import io
    import tarfile

    shard = tmp_path / "w" / "default-000000.tar"
    shard.parent.mkdir()
    with tarfile.open(shard, "w", format=tarfile.PAX_FORMAT) as tar:
        data = str(2**70).encode()
        info = tarfile.TarInfo("0.cls")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(FormatError, match="not a class index"):
        engine.load("webdataset", tmp_path / "w")


@pytest.mark.parametrize("fmt", ["image_zip", "parquet", "imagenet_txt", "webdataset"])
def test_a_folder_without_the_formats_files_is_a_format_error(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.md").write_text("nothing here")
    with pytest.raises(FormatError, match="the folder holds no"):
        engine.load(fmt, tmp_path / "empty")


# -- 9. what a writer leaves alone, its reader leaves alone ---------------------------------------
@pytest.mark.parametrize(
    ("fmt", "kept"),
    [
        ("imagenet", {"docs/README.md": "about the data"}),
        ("imagenet_txt", {"notes.txt": "Some notes about this data.\nMore notes.\n"}),
        ("cifar", {"README": "CIFAR, converted\n"}),
    ],
)
def test_files_an_overwrite_keeps_are_not_read_as_data(tmp_path, fmt, kept):
    dataset = make_dataset(counts=(("default", 12),))
    folder = tmp_path / fmt
    engine.save(dataset, fmt, folder)
    for name, text in kept.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    engine.save(dataset, fmt, folder, overwrite=True)
    assert all((folder / name).read_text() == text for name, text in kept.items())
    loaded = engine.load(fmt, folder)
    assert list(loaded.categories) == list(dataset.categories)
    assert {name: len(part) for name, part in loaded.subsets().items()} == {"default": 12}


# -- 10. cifar ids and linked class folders -------------------------------------------------------
@pytest.mark.parametrize("bad_id", ["", ".", "..", "a/b", "a\\b"])
def test_cifar_refuses_ids_that_are_not_file_names(tmp_path, bad_id):
    subset = engine.Subset(
        name="default",
        labels=np.zeros(2, np.int32),
        images=np.zeros((2, 28, 28), np.uint8),
        ids=np.array(["fine", bad_id], dtype=object),
    )
    with pytest.raises(ValidationError) as caught:
        engine.save(engine.Dataset({"default": subset}, categories=["a"]), "cifar", tmp_path / "c")
    assert caught.value.item_ids == [bad_id]
    assert not (tmp_path / "c").exists()


def test_a_class_folder_linked_from_outside_is_warned_and_read_on_request(tmp_path):
    dataset = make_dataset(counts=(("default", 30),))
    folder = tmp_path / "inet"
    engine.save(dataset, "imagenet", folder)
    counts = {name: len(list((folder / name).iterdir())) for name in dataset.categories}
    linked = next(name for name, count in counts.items() if count)
    (folder / linked).rename(tmp_path / "elsewhere")
    (folder / linked).symlink_to(tmp_path / "elsewhere")
    with pytest.warns(engine.FormatWarning, match=f"not followed: {linked}/"):
        plain = engine.load("imagenet", folder)
    assert len(plain) == 30 - counts[linked]
    followed = engine.load("imagenet", folder, follow_symlinks=True)
    assert len(followed) == 30


# -- found by the learned harness after the fixes ---------------------------------------------
def test_a_truncated_cifar_meta_is_a_format_error(tmp_path):
    engine.save(make_dataset(), "cifar", tmp_path / "c")
    meta = tmp_path / "c" / "batches.meta"
    meta.write_bytes(meta.read_bytes()[:20])
    with pytest.raises(FormatError, match=r"batches\.meta: not a readable pickle"):
        engine.load("cifar", tmp_path / "c")


@pytest.mark.parametrize("kind", ["no-path-field", "bytes-not-binary"])
def test_a_parquet_image_struct_of_another_shape_is_handled(tmp_path, kind):
    pa = pytest.importorskip("pyarrow")
    engine.save(make_dataset(), "parquet", tmp_path / "p")

    def change(table):
        column = table.column("image").combine_chunks()
        if kind == "no-path-field":
            image = pa.StructArray.from_arrays([column.field("bytes")], names=["bytes"])
        else:
            ints = pa.array(range(len(column)), pa.int64())
            image = pa.StructArray.from_arrays(
                [ints, column.field("path")], names=["bytes", "path"]
            )
        index = table.schema.get_field_index("image")
        return table.set_column(index, "image", image)

    _rewrite_parquet(tmp_path / "p", change)
    if kind == "no-path-field":
        assert len(engine.load("parquet", tmp_path / "p")["train"].images) == 7
    else:
        with pytest.raises(FormatError, match="column 'image'"):
            engine.load("parquet", tmp_path / "p")


@pytest.mark.parametrize(
    "args",
    [
        ["info", "{folder}/cifar"],
        ["stats", "{folder}/cifar"],
        ["convert", "-i", "{folder}/cifar", "-f", "mnist", "-o", "{folder}/out"],
        ["info", "{folder}/zip"],
        ["filter", "-e", "/item", "{folder}/zip:image_zip", "-o", "{folder}/f"],
    ],
)
def test_the_cli_says_one_line_and_exits_2(tmp_path, args):
    engine.save(make_dataset(), "cifar", tmp_path / "cifar")
    (tmp_path / "cifar" / "train").write_bytes(_crafted_batch(b"O8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine.save(make_dataset(counts=(("default", 3),)), "image_zip", tmp_path / "zip")
    (tmp_path / "zip" / "default.zip").unlink()
    os.mkfifo(tmp_path / "zip" / "default.zip")
    code, _out, err = run_cli(*[a.format(folder=tmp_path) for a in args])
    assert code == 2, err
    lines = [line for line in err.splitlines() if "warning" not in line]
    assert len(lines) == 1 and lines[0].startswith("mnist-engine: error:"), err
    assert "Traceback" not in err


def test_numpy_ndarray_is_never_called_from_a_pickle(tmp_path):
    """``ndarray((2,), object, buffer)`` reads the buffer as pointers: a pickle naming
    numpy.ndarray gets the name, never the constructor (run apart: a regression is a SIGSEGV)."""
    crafted = (
        b"\x80\x02cnumpy\nndarray\nK\x02\x85cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R"
        b"C\x10" + b"A" * 16 + b"\x87R."
    )
    (tmp_path / "batch").write_bytes(crafted)
    (tmp_path / "codec").write_bytes(
        b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00zlib\x86R."
    )
    done = _run_python(
        f"""
        from engine.io.safepickle import load_restricted
        import engine
        for name in ("batch", "codec"):
            try:
                load_restricted({str(tmp_path)!r} + "/" + name)
            except engine.FormatError as error:
                print("refused:", error)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("refused:") == 2
    assert "numpy.ndarray is not called" in done.stdout and "latin1 text only" in done.stdout


def test_a_project_file_that_is_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "project.toml")
    with pytest.raises(FormatError, match=r"project\.toml: not a regular file"):
        engine.load(None, tmp_path)
    code, _out, err = run_main("info", str(tmp_path))
    assert code == 2 and "project.toml: not a regular file" in err
