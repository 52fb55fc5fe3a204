"""The data stage: the raw signal in, a memory-mapped signal cache and its segments out (or feature tables a user
brings).

:mod:`~lanl.data.layout` knows the Kaggle folder layout and reads sample_submission.csv;
:mod:`~lanl.data.kaggle_api` downloads the competition data; :mod:`~lanl.data.ingest` parses the CSVs
(:mod:`~lanl.data.csvparse`, :mod:`~lanl.data.directio`) once into the cache (:mod:`~lanl.data.cache`);
:mod:`~lanl.data.segments` slices the cache into 150,000-sample windows; :mod:`~lanl.data.summary` describes it;
:mod:`~lanl.data.synth` (with :mod:`~lanl.data.synth_tables`) writes a synthetic lab-quake dataset in the exact
Kaggle layout; :mod:`~lanl.data.tables` loads feature tables made elsewhere.

The package imports none of its modules: import the one you use (``from lanl.data.ingest import ingest``).
"""
