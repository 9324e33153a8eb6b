"""minimodels.cache: results computed once, keyed by specification and code."""

import pickle
from pathlib import Path

import pytest
import torch

from minimodels import cache


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIMODELS_CACHE", str(tmp_path))
    return tmp_path


def test_cached_computes_once_then_loads(folder):
    calls = []

    def compute():
        calls.append(1)
        return {"x": torch.arange(3), "acc": 0.5}

    first = cache.cached("demo", {"a": 1}, compute)
    second = cache.cached("demo", {"a": 1}, compute)
    assert calls == [1]
    assert torch.equal(first["x"], second["x"]) and second["acc"] == 0.5
    assert len(list(folder.glob("demo-*.pt"))) == 1


def test_key_depends_on_spec_not_on_key_order(folder):
    assert cache.cache_key({"a": 1, "b": [1, 2]}) == cache.cache_key(
        {"b": [1, 2], "a": 1}
    )
    assert cache.cache_key({"a": 1}) != cache.cache_key({"a": 2})
    calls = []
    cache.cached("demo", {"a": 1}, lambda: calls.append(1))
    cache.cached("demo", {"a": 2}, lambda: calls.append(2))
    assert calls == [1, 2]


def test_unreadable_file_is_recomputed(folder):
    cache.cached("demo", {"a": 1}, lambda: 1)
    (path,) = folder.glob("demo-*.pt")
    path.write_bytes(b"not a torch file")
    assert cache.cached("demo", {"a": 1}, lambda: 2) == 2
    assert cache.cached("demo", {"a": 1}, lambda: 3) == 2  # rewritten


def test_off_and_default_locations(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIMODELS_CACHE", "off")
    assert cache.cache_dir() is None
    calls = []
    cache.cached("demo", {}, lambda: calls.append(1))
    cache.cached("demo", {}, lambda: calls.append(1))
    assert calls == [1, 1]
    monkeypatch.delenv("MINIMODELS_CACHE")
    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    (book / "_config.yml").write_text("title: x\n")
    (book / "_toc.yml").write_text("root: index\n")
    monkeypatch.chdir(book / "chapters")  # notebooks run from their own folder
    assert cache.cache_dir() == book.resolve() / "_build" / "cache"
    monkeypatch.chdir(tmp_path)
    assert cache.cache_dir().parts[-2:] == (".cache", "minimodels")


def test_spec_must_be_json(folder):
    with pytest.raises(TypeError, match="JSON-able"):
        cache.cache_key({"model": object()})


def test_presentation_modules_do_not_change_the_digest():
    files = {
        p.relative_to(cache._PACKAGE).parts[0] for p in cache._PACKAGE.rglob("*.py")
    }
    assert {"verdicts.py", "exercises", "book.py"} <= files
    assert (
        set(cache._NOT_COMPUTING) <= files
    )  # every excluded name exists (no typo silently excludes nothing)


def test_excluding_files_changes_the_digest_and_names_real_files():
    from minimodels import experiments

    assert cache.source_digest(("flops.py",)) != cache.source_digest()
    files = {
        p.relative_to(cache._PACKAGE).parts[0] for p in cache._PACKAGE.rglob("*.py")
    }
    assert set(experiments.runner.ANALYSIS) <= files
    assert cache.cache_key({"a": 1}, ("flops.py",)) != cache.cache_key({"a": 1})


class _Planted:
    """Unpickling this would create a file: the attack a restored cache could carry."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path(self.marker).touch, ())


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_crafted_file_is_refused_not_executed(folder, tmp_path, writer):
    marker = tmp_path / "executed"
    cache.cached("demo", {"a": 1}, lambda: 1)
    (path,) = folder.glob("demo-*.pt")
    planted = {"state": _Planted(marker)}
    if writer == "torch.save":
        torch.save(planted, path)
    else:
        path.write_bytes(pickle.dumps(planted, protocol=2))
    assert not marker.exists()
    assert (
        cache.cached("demo", {"a": 1}, lambda: 2) == 2
    )  # a miss: computed again and overwritten
    assert not marker.exists()
    assert cache.cached("demo", {"a": 1}, lambda: 3) == 2


def test_only_plain_values_are_stored(folder):
    value = {
        "state": {"w": torch.ones(2)},
        "history": {"acc": [0.5, 0.75]},
        4000: (1, "x", None, True),
    }
    assert cache.cached("demo", {"a": 1}, lambda: value)["history"] == value["history"]
    loaded = cache.cached("demo", {"a": 1}, lambda: None)
    assert torch.equal(loaded["state"]["w"], torch.ones(2)) and loaded[4000] == (
        1,
        "x",
        None,
        True,
    )

    class Result:
        pass

    with pytest.raises(TypeError, match=r"got Result at value\['rows'\]\[1\]"):
        cache.cached("demo", {"a": 2}, lambda: {"rows": [1, Result()]})
    assert (
        len(list(folder.glob("demo-*.pt"))) == 1
    )  # nothing stored for the refused value


def test_no_unsafe_load_in_the_package():
    for path in cache._PACKAGE.rglob("*.py"):
        assert "weights_only=False" not in path.read_text(), path
