"""The ``lanl`` command: one thin subcommand per pipeline stage over library functions.

Heavy imports happen inside the commands so that ``lanl --help`` stays instant. A :class:`~lanl.errors.LanlError`
ends the command with its message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from lanl import __version__
from lanl.errors import LanlError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LanlError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lanl")
def main():
    """LANL Earthquake Prediction toolkit: data, features, models, submissions.

    With no data given, commands run on a synthetic lab-quake dataset in the exact Kaggle layout
    (see ``lanl synth``).
    """


def _register() -> None:
    from lanl.commands import bundle, data, features, models, predict, shift, submit, synth, tune

    for module in (synth, data, features, models, shift, tune, predict, submit, bundle):
        for cmd in module.COMMANDS:
            main.add_command(cmd)


_register()
