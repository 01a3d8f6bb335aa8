"""The ``vidclf`` command.

    vidclf run [--source 0|rtsp://...|clip.mp4] ...      # classify a stream (default: the demo clip)
    vidclf batch archive/ --out runs/archive             # classify a folder of videos (local pool or Ray)
    vidclf evaluate ...                                  # score settings on labelled clips
    vidclf train ...                                     # fine-tune a model (pip install 'vidclf[train]')
    vidclf export model.keras --format onnx              # convert a trained model
    vidclf info                                          # versions, bundled files, a model's classes

``vidclf <command> --help`` lists each command's flags with the defaults the config gives them.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from vidclf import __version__
from vidclf.cli import batch, evaluate, export, info, review, run, train
from vidclf.cli.common import HelpFormatter, configure_logging, quiet_tensorflow, run_main, silence_native_stderr

COMMANDS = {
    "run": run,
    "batch": batch,
    "evaluate": evaluate,
    "train": train,
    "export": export,
    "info": info,
    "review": review,
}


def plain(doc: str) -> str:
    """A module docstring as terminal text: reST's ``literal`` quotes become plain `literal`."""
    return doc.replace("``", "`")


def build_parser(prog: str = "vidclf") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=plain(__doc__ or ""), formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"vidclf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        doc = plain(module.__doc__ or "")
        sub = commands.add_parser(name, help=doc.splitlines()[0], description=doc, formatter_class=HelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run, parser=sub)
    return parser


def main(argv: list[str] | None = None, prog: str = "vidclf") -> int:
    return _execute(build_parser(prog).parse_args(argv))


def command_main(name: str, argv: list[str] | None = None, prog: str | None = None) -> int:
    """One subcommand as a program of its own (the top-level ``stream_classify.py``,
    ``train.py`` and ``evaluate.py`` are ``run``, ``train`` and ``evaluate``)."""
    module = COMMANDS[name]
    parser = argparse.ArgumentParser(prog=prog, description=plain(module.__doc__ or ""), formatter_class=HelpFormatter)
    module.add_arguments(parser)
    parser.set_defaults(handler=module.run, parser=parser)
    return _execute(parser.parse_args(argv))


def _fill_closed_std_descriptors() -> None:
    """Started with ``>&-`` or ``2>&-``: point the closed standard descriptor at /dev/null, so
    that the next file opened (a recording, the results) cannot become "stdout" or "stderr"
    and receive what native libraries print there."""
    import os

    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            devnull = os.open(os.devnull, os.O_RDWR)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
    # Python left the closed ones as None: print(file=None) would write to stdout instead
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _execute(args: argparse.Namespace) -> int:
    _fill_closed_std_descriptors()
    configure_logging(args.verbose, args.quiet, args.log_format)
    quiet_tensorflow()
    if not args.verbose:
        silence_native_stderr()
        # library deprecation / structure notices (Keras, NumPy) are for developers: -v shows them
        warnings.simplefilter("ignore")
    return run_main(lambda: args.handler(args.parser, args))


if __name__ == "__main__":
    sys.exit(main())
