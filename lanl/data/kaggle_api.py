"""The Kaggle API, imported lazily: ``import kaggle`` authenticates at import time (and exits the process when
no token is found), and the package imports ``six`` without declaring it. Every failure -- no credentials, no
network, rules not accepted -- becomes one :class:`~lanl.errors.OfflineError` paragraph saying what to do.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path

from lanl.errors import OfflineError

COMPETITION = "LANL-Earthquake-Prediction"

_HOW_TO = (
    "To use the Kaggle API: (1) create an API token on kaggle.com (Settings > API) and save it as "
    "~/.kaggle/kaggle.json or ~/.kaggle/access_token, or export KAGGLE_USERNAME and KAGGLE_KEY; (2) accept the "
    f"competition rules at https://www.kaggle.com/c/{COMPETITION}/rules; (3) run with internet access."
)


def _fail(action: str, exc: BaseException | None, offline_hint: str) -> OfflineError:
    reason = f" ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})" if exc and str(exc) else ""
    return OfflineError(f"Could not {action} through the Kaggle API{reason}. {_HOW_TO} {offline_hint}")


def authenticated_api(action: str, offline_hint: str):
    """An authenticated ``KaggleApi``, or an OfflineError explaining how to get one."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            from kaggle.api.kaggle_api_extended import KaggleApi

            api = KaggleApi()
            api.authenticate()
    except (Exception, SystemExit) as exc:  # kaggle calls sys.exit(1) when no token is found
        detail = exc if not isinstance(exc, SystemExit) else RuntimeError("no Kaggle API token found")
        raise _fail(action, detail, offline_hint) from None
    return api


def download_competition(data_dir: str | Path, competition: str = COMPETITION) -> Path:
    """Download and unpack the competition files into ``data_dir`` (Kaggle layout)."""
    data_dir = Path(data_dir)
    hint = (
        f"Offline: copy train.csv, test/ and sample_submission.csv into {data_dir} by hand, "
        f"or run `lanl synth {data_dir}` for the synthetic dataset."
    )
    api = authenticated_api("download the competition data", hint)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        api.competition_download_files(competition, path=str(data_dir), quiet=False)
    except Exception as exc:
        raise _fail("download the competition data", exc, hint) from None
    for archive in sorted(data_dir.glob("*.zip")):
        with zipfile.ZipFile(archive) as z:
            z.extractall(data_dir)
    return data_dir
