"""``chexmini-tui`` / ``python -m chexmini_tui``: parse arguments, start the app."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from chexmini_tui.serve import served_child
from core import __version__


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line (``chexmini-tui: error: …``), exit 2."""

    def error(self, message: str):
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def _port(text: str) -> int:
    """A TCP port number, 1–65535."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return port


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="chexmini-tui",
        description="Full-screen terminal app for chexmini: train (live or attached), "
                    "gradient-check, evaluate, inspect and predict.")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="checkpoint folder to open (default: ./artifacts when present, else "
                        "the shipped checkpoint installed with chexmini)")
    p.add_argument("--data", metavar="SOURCE",
                   help="data source for the Train screen (default: nih-sample, the real NIH "
                        "X-rays shipped with chexmini; also synthetic[:N], an .npz file, "
                        "nih:ROOT, folder:ROOT …); opens on the Train screen")
    p.add_argument("--train", action="store_true",
                   help="start training at once with the Train form's settings (default: "
                        "the published model and hyperparameters on --data)")
    p.add_argument("--attach", metavar="RUN_DIR",
                   help="follow RUN_DIR/events.jsonl of a run in another process "
                        "(Train screen; p, w, x pause, save and stop it)")
    p.add_argument("--runs", metavar="DIR", default="runs",
                   help="folder of run directories (default: runs/)")
    p.add_argument("--sweeps", metavar="DIR", default="sweeps",
                   help="folder of sweeps (chexmini sweep): their trials are listed in "
                        "Inspect (default: sweeps/)")
    p.add_argument("--images", metavar="DIR",
                   help="folder the Predict file tree starts in (default: the sample NIH "
                        "X-rays shipped with chexmini)")
    p.add_argument("--image-mode", default=os.environ.get("CHEXMINI_TUI_IMAGE", "auto"),
                   choices=("auto", "halfcell", "unicode", "sixel", "tgp"),
                   help="how images are drawn (default: auto-detect; half-blocks over SSH)")
    p.add_argument("--screen", choices=("train", "gradcheck", "evaluate", "inspect",
                                        "predict"), help="screen to open on")
    p.add_argument("--version", action="version", version=f"chexmini-tui {__version__}")
    web = p.add_argument_group("in a browser (needs: pip install \"chexmini[serve]\")")
    web.add_argument("--serve", action="store_true",
                     help="serve the app to web browsers instead of drawing it here (each "
                          "tab runs its own app with the options above)")
    web.add_argument("--host", default="127.0.0.1",
                     help="address to serve on (default: 127.0.0.1, this machine only)")
    web.add_argument("--port", type=_port, default=8000, help="port to serve on (default: 8000)")
    return p


def terminal_problem() -> str | None:
    """Why the app cannot draw here (stdin or stdout closed or not a terminal, TERM=dumb),
    or None. Checked before anything queries the terminal."""
    for name in ("stdin", "stdout"):
        stream = getattr(sys, name)
        try:
            if stream is None or stream.closed or not os.isatty(stream.fileno()):
                return f"{name} is not a terminal"
        except (OSError, ValueError):
            return f"{name} is closed"
    if os.environ.get("TERM", "") == "dumb":
        return "TERM=dumb cannot draw a full-screen app"
    return None


def _stop_on_signals(app) -> dict:
    """SIGTERM and SIGHUP exit the app as ``q`` does, so the terminal is restored (main
    screen, cursor shown); the process then exits with 128 + the signal number."""
    def stop(signum, _frame) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise SystemExit(128 + signum) from None
        loop.call_soon_threadsafe(app.exit, None, 128 + signum)

    return {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}


def _error(line: str) -> int:
    if sys.stderr is not None:
        print(f"chexmini-tui: error: {line}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.attach and not os.path.isdir(args.attach):
        return _error(f"{args.attach}: run folder not found")
    if args.serve:
        from chexmini_tui.serve import serve

        return serve(args)
    if served_child():
        # Ctrl+C in the server's terminal reaches this process too: until the app's own
        # handler is in place the server's SIGTERM stops it, not a KeyboardInterrupt trace
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    problem = None if served_child() else terminal_problem()
    if problem is not None:
        return _error(f"chexmini-tui needs a terminal ({problem})")
    # Importing the app imports textual-image, which queries the terminal (graphics
    # protocol, cell size) at import time — it must happen here, before Textual starts.
    # A terminal that does not answer textual-image's queries gets its fallback sizes; the
    # library's warning (a traceback) would be printed over the screen.
    quiet = logging.getLogger("textual_image")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    from chexmini_tui.app import ChexminiApp

    app = ChexminiApp(checkpoint=args.checkpoint, data=args.data, attach=args.attach,
                      runs=args.runs, sweeps=args.sweeps, image_mode=args.image_mode,
                      predict_root=args.images,
                      start=args.screen, autostart=args.train)
    before = _stop_on_signals(app)
    try:
        app.run()
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    view = getattr(app, "train_view", None)   # the Train screen, if it was opened
    # served, stdout is the web driver's channel; stderr reaches the server's log
    out = sys.stderr if served_child() else sys.stdout
    for line in (view.exit_summary() if view is not None else []):
        if out is not None:
            print(f"chexmini-tui: {line}", file=out)
    code = app.return_code or 0
    if code == 1:
        where = getattr(app, "crash_report", None)
        told = f"; details in {where}" if where else ""
        return _error(f"the app stopped on an unexpected error{told}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
