"""``shinsaku`` command line: ``serve``, ``scan``, and ``train``/``evaluate``/``export`` forwarded to
the training package (imported only for those, so serve and scan never import torch)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

FORWARDED = {"train": "training.train", "evaluate": "training.evaluate", "export": "training.export"}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``shinsaku``."""
    parser = argparse.ArgumentParser(prog="shinsaku", description="AI-or-human detector for anime-style images.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the local HTTP backend (waitress)")
    serve.add_argument("--host", help="bind address (default 127.0.0.1; others need SHINSAKU_TOKEN)")
    serve.add_argument("--port", type=int, help="TCP port (default 8765)")
    serve.add_argument("--model", help="model card .json or .onnx (default: the bundled model)")
    serve.add_argument("--threads", type=int, help="waitress worker threads")
    scan = sub.add_parser("scan", help="classify a folder (recursively) or files offline")
    scan.add_argument("paths", nargs="+", help="image files and folders")
    scan.add_argument("--model", help="model card .json or .onnx (default: the bundled model)")
    scan.add_argument("--format", choices=("csv", "json"), default="csv", help="results format")
    scan.add_argument("-o", "--output", help="results file (default: standard output)")
    scan.add_argument("--report", help="write a self-contained HTML report here")
    scan.add_argument("--batch-size", type=int, default=16, help="images per inference")
    scan.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    for name, module in FORWARDED.items():
        sub.add_parser(name, help=f"forwarded to {module} (see shinsaku {name} --help)", add_help=False)
    return parser


def forward(command: str, argv: list[str]) -> int:
    """Run ``training.<command>.main(get_args_parser().parse_args(argv))``."""
    module = importlib.import_module(FORWARDED[command])
    result = module.main(module.get_args_parser().parse_args(argv))
    return result if isinstance(result, int) else 0


def serve(args: argparse.Namespace) -> int:
    """Run the backend under waitress until interrupted."""
    import waitress

    from backend import create_app

    overrides = {key: value for key, value in (("HOST", args.host), ("PORT", args.port),
                                              ("MODEL_PATH", args.model), ("SERVER_THREADS", args.threads))
                 if value is not None}
    app = create_app(overrides)
    config = app.config
    logging.getLogger("shinsaku").info("serving on http://%s:%s", config["HOST"], config["PORT"])
    waitress.serve(app, host=config["HOST"], port=config["PORT"], threads=config["SERVER_THREADS"],
                   max_request_body_size=4 * config["MAX_CONTENT_LENGTH"], connection_limit=256,
                   channel_timeout=30, ident="shinsaku", clear_untrusted_proxy_headers=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shinsaku``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if argv and argv[0] in FORWARDED:
        return forward(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from backend.config import ConfigError

        try:
            return serve(args)
        except ConfigError as exc:
            print(f"shinsaku serve: {exc}", file=sys.stderr)
            return 2
    from backend.scan import run_scan

    return run_scan(args)


if __name__ == "__main__":
    sys.exit(main())
