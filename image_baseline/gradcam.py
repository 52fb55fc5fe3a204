"""Grad-CAM (Selvaraju et al., 2017): where in the image the evidence for a class lies.

The map is ReLU(sum_k w_k A_k), where A_k are the feature maps of a layer and w_k the spatial mean of
d(class score)/d(A_k); it is upsampled to the input and scaled to [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def grad_cam(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, target: int | None = None
) -> tuple[np.ndarray, int]:
    """(map of shape x.shape[-2:] in [0, 1], class) for one image ``x`` of shape (1, C, H, W).

    ``target`` defaults to the predicted class. The model is put in eval mode.
    """
    store: dict[str, torch.Tensor] = {}

    def keep(module, inputs, output):
        store["activation"] = output
        output.register_hook(lambda grad: store.__setitem__("gradient", grad))

    handle = layer.register_forward_hook(keep)
    model.eval()
    try:
        with torch.enable_grad():
            logits = model(
                x.detach().clone().requires_grad_(True)
            )  # gradients flow even through frozen layers
            target = int(logits.argmax(dim=1)[0]) if target is None else int(target)
            model.zero_grad(set_to_none=True)
            logits[0, target].backward()
    finally:
        handle.remove()
    activation, gradient = store["activation"][0].detach(), store["gradient"][0]
    weights = gradient.mean(dim=(1, 2))
    cam = torch.relu((weights[:, None, None] * activation).sum(dim=0))
    cam = nn.functional.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[
        0, 0
    ]
    peak = float(cam.max())
    return (cam / peak if peak > 0 else cam).numpy(), target


def denormalize(x: torch.Tensor, stats) -> np.ndarray:
    """A normalised (C, H, W) tensor back to an (H, W, C) picture in [0, 1]."""
    mean, std = (torch.tensor(s, dtype=x.dtype)[:, None, None] for s in stats)
    return (x.detach() * std + mean).clamp(0, 1).permute(1, 2, 0).numpy()
