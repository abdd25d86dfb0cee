"""``shinsaku`` command line: ``serve``, ``scan``, ``corrections import``, and
``train``/``evaluate``/``export`` forwarded to the training package (imported only for those, so
serve, scan and corrections never import torch)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

FORWARDED = {"train": "training.train", "evaluate": "training.evaluate", "export": "training.export"}
#: Exit statuses of ``shinsaku serve`` and ``shinsaku scan`` (2 is also argparse's usage error).
EXIT_OK, EXIT_CONFIG, EXIT_ADDRESS, EXIT_MODEL = 0, 2, 3, 4


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1. Raises ``argparse.ArgumentTypeError`` otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


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
    scan.add_argument("--explain", action="store_true",
                      help="heat-map thumbnails in the --report (50 more inferences per judged image)")
    scan.add_argument("--batch-size", type=int, default=16, help="images per inference")
    scan.add_argument("--workers", type=positive_int, default=None,
                      help="threads reading and decoding images (default: the CPU cores)")
    scan.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    corrections = sub.add_parser("corrections", help="the extension's corrections as training data")
    imports = corrections.add_subparsers(dest="action", required=True).add_parser(
        "import", help="an export plus the saved images as a data root for train --extra-data")
    imports.add_argument("file", help="the options page's corrections export (CSV or JSON)")
    imports.add_argument("--images", required=True, metavar="DIR", help="the saved images (searched recursively)")
    imports.add_argument("--output", default=".devdata/corrections", metavar="ROOT",
                         help="data root to write or extend (default: .devdata/corrections)")
    imports.add_argument("--source", metavar="NAME", help="sources NAME-ai, NAME-human (default: corrections-<site>-<label>)")
    imports.add_argument("--known", action="append", metavar="ROOT",
                         help="a data root whose images are not imported again (repeatable)")
    for name, module in FORWARDED.items():
        sub.add_parser(name, help=f"forwarded to {module} (see shinsaku {name} --help)", add_help=False)
    return parser


def forward(command: str, argv: list[str]) -> int:
    """Run ``training.<command>.main(get_args_parser().parse_args(argv))``."""
    module = importlib.import_module(FORWARDED[command])
    result = module.main(module.get_args_parser().parse_args(argv))
    return result if isinstance(result, int) else 0


def serve(args: argparse.Namespace) -> int:
    """Run the backend under waitress until interrupted. The address is bound before the model
    starts loading, so a busy port fails at once. Returns ``EXIT_CONFIG`` for a bad setting,
    ``EXIT_ADDRESS`` when the address cannot be bound, ``EXIT_MODEL`` when the model card does not
    exist; a model that exists but is broken is served as 503 (``/v1/health`` says why)."""
    from backend import create_app
    from backend.config import ConfigError, build_config
    from backend.http_server import make_server
    from backend.model_card import card_path_for

    overrides = {key: value for key, value in (("HOST", args.host), ("PORT", args.port),
                                              ("MODEL_PATH", args.model), ("SERVER_THREADS", args.threads))
                 if value is not None}
    try:
        config = build_config(overrides)
    except ConfigError as exc:
        return fail("serve", f"bad configuration: {exc}", EXIT_CONFIG)
    card = card_path_for(config["MODEL_PATH"])
    if not card.is_file():
        return fail("serve", f"model card not found: {card} (set --model or SHINSAKU_MODEL_PATH)", EXIT_MODEL)
    apps: list = []
    try:
        server = make_server(lambda environ, start_response: apps[0](environ, start_response), config)
    except OSError as exc:
        return fail("serve", f"cannot listen on {config['HOST']}:{config['PORT']}: {exc.strerror or exc} "
                             "(choose another with --port, SHINSAKU_PORT or make serve PORT=...)", EXIT_ADDRESS)
    apps.append(create_app(config))
    logging.getLogger("shinsaku").info("serving on http://%s:%s", config["HOST"], server.effective_port)
    try:
        server.run()
    finally:
        server.close()
    return EXIT_OK


def fail(command: str, message: str, status: int) -> int:
    """Print ``shinsaku COMMAND: MESSAGE`` as one line on standard error and return ``status``."""
    print(f"shinsaku {command}: {message}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``shinsaku``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if argv and argv[0] in FORWARDED:
        return forward(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "corrections":
        from backend.corrections_import import run_import

        return run_import(args)
    from backend.scan import run_scan

    return run_scan(args)


if __name__ == "__main__":
    sys.exit(main())
