"""The Kaggle stage: what leaves this machine for Kaggle.

:mod:`~lanl.kaggle.submit` writes validated submissions and their ledger; :mod:`~lanl.kaggle.bundle` packs the
package and a run's config into one script for a Kaggle kernel (and pushes it), with
:mod:`~lanl.kaggle.precompile` shipping its numba kernels compiled ahead; the script is the template
``lanl/kaggle/kernel_script.py`` filled in, and :mod:`~lanl.kaggle.kernel` is what it runs in the kernel. (The Kaggle API client that downloads
the competition data lives with the data stage: :mod:`lanl.data.kaggle_api`.)

The package imports none of its modules: import the one you use (``from lanl.kaggle.submit import submit``).
"""
