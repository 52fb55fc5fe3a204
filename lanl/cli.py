"""The ``lanl`` command: one thin subcommand per pipeline stage over library functions.

Heavy imports happen inside the commands so that ``lanl --help`` stays instant. A :class:`~lanl.errors.LanlError`
or an OS error (a read-only folder, a full disk, a folder given for a file) ends the command with its message on
stderr and exit status 2, never a traceback. SIGTERM unwinds like Ctrl-C, so temporary output is removed (exit
status 143). The package's log (warnings, notes) goes to stderr as ``warning: ...`` / ``note: ...``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import signal
import sys

import click

from lanl import __version__
from lanl.commands import bundle, data, features, models, predict, shift, submit, synth, tune
from lanl.errors import LanlError

_OS_HINTS = {
    errno.EROFS: "the file system is read-only: write elsewhere (--cache, --out, --runs, --features-dir) "
    "or make it writable",
    errno.EACCES: "permission denied: write elsewhere or fix the permissions",
    errno.EPERM: "operation not permitted: write elsewhere or fix the permissions",
    errno.ENOSPC: "no space left on the device: free some space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded: free some space or write elsewhere",
    errno.EFBIG: "file too large for this file system or limit: write elsewhere",
    errno.EISDIR: "this is a folder: give a file",
    errno.ENOTDIR: "a part of this path is a file, not a folder: give a folder",
    errno.ENOENT: "no such file or folder",
}


_TEMP_NAME = re.compile(r"(^|/)\.([^/]+)\.(?:old-[0-9]+-)?[a-z0-9_]{8}\.(?:tmp|new)(?=/|$)")


class _Group(click.Group):
    def invoke(self, ctx):
        with _log_to_stderr(), _terminate_as_interrupt():
            try:
                return super().invoke(ctx)
            except LanlError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(2)
            except OSError as exc:
                click.echo(f"error: {os_error_message(exc)}", err=True)
                sys.exit(2)


def os_error_message(exc: OSError) -> str:
    """``PATH: what happened (what to do)`` for an OS error, the path where it has one: a path inside a
    temporary output (``.NAME.<random>.tmp``, removed by then) is named by the output's own name."""
    where = _TEMP_NAME.sub(r"\1\2", str(exc.filename)) + ": " if exc.filename else ""
    what = exc.strerror or str(exc)
    hint = _OS_HINTS.get(exc.errno)
    return f"{where}{what}" + (f" ({hint})" if hint and hint != what.lower() else "")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that every ``finally`` and atomic write cleans up."""


@contextlib.contextmanager
def _terminate_as_interrupt():
    def handler(signum, frame):
        raise _Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    except _Terminated:
        click.echo("error: terminated (SIGTERM); temporary output removed", err=True)
        sys.exit(128 + signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)


class _ClickHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        label = "note" if record.levelno < logging.WARNING else record.levelname.lower()
        click.echo(f"{label}: {record.getMessage()}", err=True)


@contextlib.contextmanager
def _log_to_stderr():
    logger = logging.getLogger("lanl")
    handler, level = _ClickHandler(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lanl")
def main():
    """LANL Earthquake Prediction toolkit: data, features, models, submissions.

    With no data given, commands run on a synthetic lab-quake dataset in the exact Kaggle layout
    (see ``lanl synth``).
    """


def _register() -> None:
    for module in (synth, data, features, models, shift, tune, predict, submit, bundle):
        for cmd in module.COMMANDS:
            main.add_command(cmd)


_register()
