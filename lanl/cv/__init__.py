"""The cross-validation stage: feature tables (or windows) in, run folders of out-of-fold and test predictions out.

:mod:`~lanl.cv.folds` computes the folds once (grouped by quake cycle); :mod:`~lanl.cv.shift` fits the train ->
test shift remedies per fold; :mod:`~lanl.cv.train` runs one model's CV and :mod:`~lanl.cv.runs` writes and
reads its run folder; :mod:`~lanl.cv.stack` fits a level-2 model on runs scored on the same folds;
:mod:`~lanl.cv.tune` searches hyperparameters with Optuna on the same folds (the search spaces in
:mod:`~lanl.cv.spaces`, the studies' storage and outputs in :mod:`~lanl.cv.studies`); :mod:`~lanl.cv.predict` applies a
run's fold models to other test data.

The package imports none of its modules: import the one you use (``from lanl.cv.train import train``).
"""
