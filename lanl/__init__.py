"""lanl: LANL Earthquake Prediction toolkit.

The data path, one module per stage::

    raw CSV --ingest--> cache --segments--> feature tables --> models --> OOF / predictions
            --> report / submission / bundle

``lanl.data.synth`` writes a synthetic lab-quake dataset in the exact Kaggle layout, the default input everywhere.
"""

__version__ = "0.1.0"
