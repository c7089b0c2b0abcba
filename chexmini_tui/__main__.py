"""``chexmini-tui`` / ``python -m chexmini_tui``: parse arguments, start the app."""

from __future__ import annotations

import argparse
import os
import sys


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line (``chexmini-tui: error: …``), exit 2."""

    def error(self, message: str):
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="chexmini-tui",
        description="Full-screen terminal app for chexmini: train (live or attached), "
                    "gradient-check, evaluate, inspect and predict.")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="checkpoint folder to open (default: artifacts/)")
    p.add_argument("--data", metavar="SOURCE",
                   help="data source for the Train screen (default: nih-sample, the real NIH "
                        "X-rays shipped with chexmini; also synthetic[:N], an .npz file, "
                        "nih:ROOT, folder:ROOT …); opens on the Train screen")
    p.add_argument("--train", action="store_true",
                   help="start training at once with the Train form's settings (default: "
                        "the published model and hyperparameters on --data)")
    p.add_argument("--attach", metavar="RUN_DIR",
                   help="follow RUN_DIR/events.jsonl of a run in another process "
                        "(read-only Train screen)")
    p.add_argument("--runs", metavar="DIR", default="runs",
                   help="folder of run directories (default: runs/)")
    p.add_argument("--images", metavar="DIR",
                   help="folder the Predict file tree starts in (default: the sample NIH "
                        "X-rays shipped with chexmini)")
    p.add_argument("--image-mode", default=os.environ.get("CHEXMINI_TUI_IMAGE", "auto"),
                   choices=("auto", "halfcell", "unicode", "sixel", "tgp"),
                   help="how images are drawn (default: auto-detect; half-blocks over SSH)")
    p.add_argument("--screen", choices=("train", "gradcheck", "evaluate", "inspect",
                                        "predict"), help="screen to open on")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Importing the app imports textual-image, which queries the terminal (graphics
    # protocol, cell size) at import time — it must happen here, before Textual starts.
    from chexmini_tui.app import ChexminiApp

    if args.attach and not os.path.isdir(args.attach):
        print(f"chexmini-tui: error: {args.attach}: run folder not found", file=sys.stderr)
        return 2
    app = ChexminiApp(checkpoint=args.checkpoint, data=args.data, attach=args.attach,
                      runs=args.runs, image_mode=args.image_mode, predict_root=args.images,
                      start=args.screen, autostart=args.train)
    app.run()
    view = getattr(app, "train_view", None)   # the Train screen, if it was opened
    for line in (view.exit_summary() if view is not None else []):
        print(f"chexmini-tui: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
