"""Signal features: one pure function per feature, registered by name; feature sets as data; batched,
exact extraction over any runner.

Public API::

    extract(data, feature_set="kernel", keys=None, runner=None)      -> DataFrame (in-memory segments)
    extract_segments(cache, table, feature_set, runner=None)          -> DataFrame (cache windows)
    load_feature_set(name_or_path) / feature_set_from_dict(data)      -> FeatureSet
    parse_column(name) -> Column(view, feature, params);  column_name(view, feature, params)
    SerialRunner(), ProcessRunner(n_jobs), make_runner(jobs)          (lanl.distributed.DaskRunner on Dask)
    segment_features(cache, feature_set, part, spec, store, runner)   -> (DataFrame, folder, hit)
    FeatureStore(root), Request                                       (features/ Parquet + manifest)
    FEATURES, MANIPULATIONS                                           (the registries)

Modules imported on demand (they pull in scikit-learn or tsfresh):

    lanl.features.transformer       FeatureExtractor(feature_set, n_jobs): scikit-learn transformer
    lanl.features.tsfresh_interop   TsfreshSet("minimal"|"efficient"|...), tsfresh_segment_features,
                                    RelevanceSelector(fdr_level) (fit it inside CV folds)
    lanl.features.shift             ks_table / ks_filter, adversarial_validation, match_cycles

Families (one module each): distribution, rolling, peaks, spectral (+ mfcc), temporal; manipulations
(views); the numba kernels behind them live in _kernels.
"""

# The family modules register their features on import.
from lanl.features import distribution, manipulations, mfcc, peaks, rolling, spectral, temporal  # noqa: F401
from lanl.features.extract import KEY_COLUMNS, compute_block, extract, extract_segments, feature_columns
from lanl.features.featureset import FeatureSet, FeatureSpec, Step
from lanl.features.featureset import from_dict as feature_set_from_dict
from lanl.features.featureset import load as load_feature_set
from lanl.features.registry import FEATURES, MANIPULATIONS, Column, column_name, parse_column
from lanl.features.runners import ProcessRunner, Runner, SerialRunner, make_runner
from lanl.features.store import FeatureStore, Request, segment_features

__all__ = [
    "FEATURES",
    "KEY_COLUMNS",
    "MANIPULATIONS",
    "Column",
    "FeatureSet",
    "FeatureSpec",
    "FeatureStore",
    "ProcessRunner",
    "Request",
    "Runner",
    "SerialRunner",
    "Step",
    "column_name",
    "compute_block",
    "extract",
    "extract_segments",
    "feature_columns",
    "feature_set_from_dict",
    "load_feature_set",
    "make_runner",
    "parse_column",
    "segment_features",
]
