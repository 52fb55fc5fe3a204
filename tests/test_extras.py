"""Optional parts (pip extras): a command that needs a missing one says which extra to install."""

import sys

import pytest
from click.testing import CliRunner

from lanl.errors import LanlError
from lanl.extras import EXTRAS, MissingExtra, missing_extra, require


class _NotInstalled:
    """A meta path finder for which ``packages`` are not installed."""

    def __init__(self, packages):
        self.packages = packages

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.packages:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


NETS_MODULES = (
    "lanl.models._torch",
    "lanl.models.torch_loop",
    "lanl.models.torch_base",
    "lanl.models.cnn",
    "lanl.models.rnn",
)


def block(monkeypatch, *packages, forget=()):
    """Make ``import <package>`` fail as if it were not installed; the modules in ``forget`` (which import it
    at module level) import afresh. monkeypatch puts every module back afterwards."""
    for name in list(sys.modules):
        if name.split(".")[0] in packages or name in forget:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_NotInstalled(packages), *sys.meta_path])


def test_require_names_the_extra():
    assert require("json", "nets", "x").dumps([]) == "[]"
    with pytest.raises(MissingExtra) as info:
        require("no_such_package_lanl.sub", "nets", "the cnn or lstm model")
    assert isinstance(info.value, LanlError)
    assert str(info.value) == (
        "the cnn or lstm model needs the 'nets' extra (no_such_package_lanl is not installed): "
        "pip install 'lanl[nets]'"
    )
    assert EXTRAS["torch"] == "nets" and EXTRAS["distributed"] == "dask" and EXTRAS["fastai"] == "image"
    error = missing_extra(ModuleNotFoundError("x", name="tsfresh.feature_extraction"), "--tsfresh")
    assert error.extra == "tsfresh" and "pip install 'lanl[tsfresh]'" in str(error)
    assert missing_extra(ModuleNotFoundError("x", name="numpy"), "x") is None


def test_require_leaves_a_broken_install_alone(monkeypatch, tmp_path):
    """An installed package that fails to import one of its own dependencies is not a missing extra."""
    (tmp_path / "halfbroken_pkg.py").write_text("import no_such_dependency_lanl\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_lanl"):
        require("halfbroken_pkg", "nets", "x")


def test_nets_without_torch(monkeypatch):
    block(monkeypatch, "torch", forget=NETS_MODULES)
    from lanl.models import make_model

    assert make_model("lgbm") is not None  # LightGBM needs no extra
    for kind in ("cnn", "lstm"):
        with pytest.raises(MissingExtra, match=r"needs the 'nets' extra .*pip install 'lanl\[nets\]'"):
            make_model(kind)


def test_dask_and_tsfresh_without_their_extras(monkeypatch):
    block(monkeypatch, "distributed", "dask", "tsfresh")
    from lanl.distributed import connect
    from lanl.features.tsfresh_interop import TsfreshSet

    with pytest.raises(MissingExtra, match=r"'dask' extra \(distributed is not installed\)"):
        with connect("local"):
            pass
    with pytest.raises(MissingExtra, match=r"pip install 'lanl\[tsfresh\]'"):
        TsfreshSet("minimal").settings()


def test_image_baseline_command_names_the_image_extra(monkeypatch, tmp_path):
    from image_baseline.cli import main

    block(monkeypatch, "nbformat")
    res = CliRunner().invoke(main, ["notebook", str(tmp_path / "week1.ipynb")])
    assert res.exit_code == 2, res.output
    assert "image-baseline needs the 'image' extra (nbformat is not installed)" in res.output
    assert "pip install 'lanl[image]'" in res.output
