"""Projects: create, import, filter, export (merging subsets), conflicts; the TOML writer."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from cli_helpers import run_cli, run_main
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.cli.sample import synthetic_dataset
from engine.io.toml_writer import dumps

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


@pytest.fixture
def two_sources(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    a = synthetic_dataset(train=30, test=20, seed=1)
    b = synthetic_dataset(train=10, test=0, seed=2)
    engine.save(a, "mnist", first)
    engine.save(b, "mnist", second)
    return first, second, a, b


def test_create_import_export_merges_subsets(tmp_path, two_sources):
    first, second, a, b = two_sources
    project = tmp_path / "project"
    assert run_cli("create", "-o", project)[0] == 0
    assert run_cli("import", "-p", project, "-f", "mnist", first)[0] == 0
    code, out, err = run_cli("import", "-p", project, "-n", "extra", second)
    assert code == 0, err and "'extra'" in out
    config = tomllib.loads((project / "project.toml").read_text())
    assert [(s["name"], s["format"]) for s in config["source"]] == [
        ("first", "mnist"),
        ("extra", "mnist"),
    ]
    code, out, err = run_cli(
        "export", "-p", project, "-f", "mnist", "-o", tmp_path / "out", "--", "--save-media"
    )
    assert code == 0, err
    merged = engine.load("mnist", tmp_path / "out")
    assert len(merged["train"]) == 40 and len(merged["test"]) == 20
    assert np.array_equal(merged["train"].images[:30], a["train"].images)
    assert np.array_equal(merged["train"].images[30:], b["train"].images)
    assert np.array_equal(merged["train"].labels[30:], b["train"].labels)


def test_project_filters_apply_on_export(tmp_path, two_sources):
    first, second, a, _ = two_sources
    project = tmp_path / "project"
    run_main("create", "-o", project)
    run_main("import", "-p", project, "-f", "mnist", first)
    run_main("import", "-p", project, "-f", "mnist", second)
    code, out, err = run_main("filter", "-p", project, "-e", '/item[subset="test"]', "first")
    assert code == 0, err
    code, _, err = run_main(
        "export",
        "-p",
        project,
        "-f",
        "mnist",
        "-o",
        tmp_path / "out",
        "-e",
        "/item[annotation/label_id < 5]",
    )
    assert code == 0, err
    merged = engine.load("mnist", tmp_path / "out")
    assert list(merged.subsets()) == ["train", "test"]
    assert len(merged["train"]) == int((_labels(second, "train") < 5).sum())
    assert len(merged["test"]) == int((a["test"].labels < 5).sum())
    code, out, _ = run_main("info", project)
    assert code == 0 and "format:  project" in out


def _labels(path, subset):
    return engine.load("mnist", path)[subset].labels


def test_conflicting_categories_name_both_sources(tmp_path, two_sources):
    first, second, _, _ = two_sources
    (second / "labels.txt").write_text("".join(f"c{i}\n" for i in range(10)))
    project = tmp_path / "project"
    run_main("create", "-o", project)
    run_main("import", "-p", project, "-n", "digits", first)
    code, _, err = run_main("import", "-p", project, "-n", "letters", second)
    assert code == 2 and "'digits' and 'letters'" in err and "conflicting categories" in err
    config = project / "project.toml"
    config.write_text(
        config.read_text()
        + f'\n[[source]]\nname = "letters"\nformat = "mnist"\npath = "{second}"\n'
    )
    code, _, err = run_main("export", "-p", project, "-f", "mnist", "-o", tmp_path / "out")
    assert code == 2 and "'digits' and 'letters'" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["import", "-p", "{tmp}/nowhere", "-f", "mnist", "{first}"], "not a project"),
        (["export", "-p", "{tmp}/project", "-f", "mnist", "-o", "{tmp}/o"], "no sources"),
        (["import", "-p", "{tmp}/project", "-f", "mnist", "{tmp}/missing"], "no such file"),
        (["import", "-p", "{tmp}/project", "-f", "mnist", "-n", "a b", "{first}"], "source name"),
        (
            [
                "filter",
                "-p",
                "{tmp}/project",
                "-e",
                "/item[",
            ],
            "bad filter",
        ),
        (["create", "-o", "{tmp}/project"], "already exists"),
    ],
)
def test_project_usage_errors(tmp_path, two_sources, args, words):
    first, *_ = two_sources
    run_main("create", "-o", tmp_path / "project")
    filled = [a.format(tmp=tmp_path, first=first) for a in args]
    code, _, err = run_main(*filled)
    assert code == 2 and words in err


def test_malformed_config_names_the_file(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "project.toml").write_text('[[source]]\nname = "x"\nformat = \n')
    code, _, err = run_main("info", project)
    assert code == 2 and "project.toml" in err and "TOML" in err


def test_filter_a_dataset_into_a_folder(tmp_path, two_sources):
    first, _, a, _ = two_sources
    code, _, err = run_main(
        "filter",
        first,
        "-e",
        "/item/annotation[label_id=7]",
        "-m",
        "i+a",
        "-o",
        tmp_path / "sevens",
    )
    assert code == 0, err
    kept = engine.load("mnist", tmp_path / "sevens")
    assert len(kept) == sum(int((s.labels == 7).sum()) for s in a.subsets().values())


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        texts, st.one_of(texts, st.integers(-(10**12), 10**12), st.booleans()), max_size=4
    ),
    st.lists(st.fixed_dictionaries({"name": texts, "path": texts}), max_size=3),
)
def test_toml_writer_round_trips(top, tables):
    document = {**top, "source": tables} if tables else top
    document = {k: v for k, v in document.items() if not (k == "source" and not tables)}
    assert tomllib.loads(dumps(document, header="a\nb")) == document


def test_two_row_numbered_sources_with_a_filter_merge_without_losing_items(tmp_path):
    from engine.project import Project
    from tests.conftest import make_dataset

    project = Project.create(tmp_path / "p")
    for seed in (1, 2):
        engine.save(make_dataset(seed=seed), "mnist", tmp_path / f"s{seed}")
        project.add_source(tmp_path / f"s{seed}", "mnist")
    project.add_filter("/item[annotation/label>=0]")
    merged = project.dataset()
    assert len(merged) == 24
    assert "s1/0" in merged["train"].id_column() and "s2/0" in merged["train"].id_column()


def test_a_path_is_imported_once_and_sources_can_be_listed_and_removed(tmp_path):
    from engine.project import Project, ProjectError
    from tests.conftest import make_dataset

    project = Project.create(tmp_path / "p")
    engine.save(make_dataset(), "mnist", tmp_path / "s")
    project.add_source(tmp_path / "s", "mnist", "digits")
    with pytest.raises(ProjectError, match="already the source 'digits'"):
        project.add_source(tmp_path / "s", "mnist", "again")
    code, printed, _ = run_cli("sources", "-p", tmp_path / "p")
    assert code == 0 and printed.startswith("digits\tmnist\t")
    code, printed, _ = run_cli("sources", "-p", tmp_path / "p", "--remove", "digits")
    assert code == 0 and Project.open(tmp_path / "p").sources == []


def test_info_and_stats_without_a_path_read_the_project_they_run_in(
    tmp_path, two_sources, monkeypatch
):
    first, _, a, _ = two_sources
    project = tmp_path / "project"
    run_main("create", "-o", project)
    run_main("import", "-p", project, "-f", "mnist", first)
    monkeypatch.chdir(project)  # Datumaro's `datum dinfo` / `datum stats` in a project folder
    for verb in ("info", "stats"):
        code, out, err = run_main(verb)
        assert code == 0, err
        assert "format:  project" in out and f"items:   {len(a)}" in out


def test_validate_reads_the_project_it_runs_in_with_its_filters(tmp_path, two_sources, monkeypatch):
    first, _, a, _ = two_sources
    project = tmp_path / "project"
    run_main("create", "-o", project)
    run_main("import", "-p", project, "-f", "mnist", first)
    run_main("filter", "-p", project, "-e", '/item[annotation/label="1"]')
    monkeypatch.chdir(project)  # Datumaro's `datum validate` in a project folder
    kept = sum(1 for item in a if item.annotations and item.annotations[0].label == 1)
    assert 0 < kept < len(a)  # the project's filter is applied
    code, out, err = run_main("validate", "--json", "--no-near", "--fail-on", "leakage")
    assert code == 0, err
    report = json.loads(out)
    assert report["format"] == "project" and report["items"] == kept
    assert report["failed_rules"] == []
    code, _, err = run_main("validate", "--official")
    assert code == 2 and "give a source's folder" in err
