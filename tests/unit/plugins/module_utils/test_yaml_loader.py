"""Reading YAML with every key given twice reported."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector
from ansible_collections.galaxyops.fleet.plugins.module_utils.yaml_loader import DuplicateKey, load_yaml, read_yaml


def write(tmp_path, text):
    path = tmp_path / "c.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_duplicates_at_every_depth_with_both_lines(tmp_path):
    data, duplicates = load_yaml(write(tmp_path, "a: 1\nb:\n  - {x: 1, x: 2}\n  - y: 1\nb: 2\na: 3\n"))
    assert data == {"a": 3, "b": 2}
    assert duplicates == [DuplicateKey("b", 2, 5), DuplicateKey("a", 1, 6), DuplicateKey("b.0.x", 3, 3)]


def test_merge_keys_aliases_and_distinct_types_are_not_duplicates(tmp_path):
    text = "base: &b {x: 1}\nuse:\n  <<: *b\n  x: 2\nagain: *b\nn:\n  1: a\n  '1': b\n"
    data, duplicates = load_yaml(write(tmp_path, text))
    assert duplicates == []
    assert data["use"] == {"x": 2} and data["n"] == {1: "a", "1": "b"}


def test_read_yaml_reports_file_key_path_and_lines(tmp_path):
    path = write(tmp_path, "gravity:\n  gunicorn: {}\n  gunicorn: {workers: 2}\n")
    out = Collector()
    assert read_yaml(path, out, "the configuration") == {"gravity": {"gunicorn": {"workers": 2}}}
    assert [str(p) for p in out.problems] == [
        f"{path}: gravity.gunicorn: given twice (lines 2 and 3): YAML keeps the last one silently, remove one"]


def test_read_yaml_reports_unreadable_and_unparsable_files(tmp_path):
    out = Collector()
    assert read_yaml(str(tmp_path / "missing.yml"), out, "the configuration") is None
    assert read_yaml(write(tmp_path, "a: [\n"), out, "the configuration") is None
    assert out.problems[0].message == "cannot read the configuration: No such file or directory"
    assert out.problems[1].message.startswith("cannot parse the configuration: ")
    assert read_yaml(write(tmp_path, ""), Collector(), "the configuration") is None
