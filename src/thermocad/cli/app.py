"""CLI: the application subcommands predict, explain, serve and export (library imported lazily)."""

from __future__ import annotations

import argparse

from thermocad.cli import output_file
from thermocad.models.device import DEVICE_HELP

PREDICT_DESCRIPTION = (
    "Predict P(Sick) for DMR text matrices, images and .npy files (folders are "
    "searched recursively). Writes OUT, OUT_patients.csv when a patient has several files "
    "and OUT_errors.csv listing files that failed; exits 1 if any failed. When every file "
    "fails only OUT_errors.csv is written (no OUT holding a header alone); with --force, an "
    "earlier run's OUT, OUT_patients.csv or OUT_errors.csv that this run has nothing for is "
    "removed, and said. MODEL is a run "
    "folder (PyTorch; without PyTorch installed, its model.onnx) or an .onnx file written "
    "by `thermocad export` (ONNX Runtime and numpy only). OUT has a row per file: file, "
    "patient_id (from a DMR-IR name, T0012...; empty otherwise), prob_sick and, for a model "
    "averaging its CNN with the baseline, prob_cnn and prob_baseline, decision (Sick, "
    "Healthy, or 'no call' for a lateral view, another unit or a frame on its side) at the "
    "model's stored threshold, threshold, model, model_warning, note (a training woman, by "
    "number or bytes; a view; the room), and what scored it and when: weights_sha256, "
    "model_sha256 (of model.json or the .onnx file), engine, thermocad_version, scored_utc "
    "and file_sha256 (of the file's bytes). "
    "OUT_patients.csv: each woman's mean P(Sick) over her files that have a call, static "
    "and dynamic frames alike, a copy counted once (docs/application.md)."
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `thermocad` parser."""
    p = sub.add_parser(
        "predict",
        help="predict P(Sick) for thermal files or folders",
        description=PREDICT_DESCRIPTION,
    )
    p.add_argument("run_dir", metavar="MODEL", help="run folder or exported .onnx file")
    p.add_argument("inputs", nargs="+", metavar="FILE_OR_DIR", help="thermal files or folders")
    p.add_argument("--out", required=True, type=output_file, help="predictions file to write")
    p.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="csv, or json: a list of records with the same fields")  # fmt: skip
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="average P(Sick) over the image and the model's own test-time "
                   "augmentations (its config's tta: none for the default recipe, 4 for the "
                   "study's); default: as the model was validated and its threshold chosen")  # fmt: skip
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument(
        "--allow-unit-mismatch",
        action="store_true",
        help="predict even when a file's unit (temperature vs image intensity) differs from the model's",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=_predict)

    p = sub.add_parser("explain", help="Grad-CAM figure for each thermogram given")
    p.add_argument("run_dir", metavar="MODEL", help="run folder (train's or fit's): Grad-CAM "
                   "needs its PyTorch model, not an exported .onnx file")  # fmt: skip
    p.add_argument("files", nargs="+", metavar="FILE", help="thermal file(s) to explain, or "
                   "folders of them (searched as predict does)")  # fmt: skip
    p.add_argument("--out", required=True, help="output folder for FILE_gradcam.png, outside "
                   "the folders of the files explained")  # fmt: skip
    p.add_argument("--allow-unit-mismatch", action="store_true", help="see `predict`")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--force", action="store_true", help="overwrite an existing figure")
    p.set_defaults(func=_explain)

    p = sub.add_parser(
        "serve",
        help="web app: upload a thermogram, see P(Sick) (and Grad-CAM, with thermocad[explain]); "
        "programs call its /score API (docs/application.md)",
    )
    p.add_argument("run_dir", metavar="MODEL",
                   help="run folder, or an exported .onnx file (no Grad-CAM overlay)")  # fmt: skip
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; "
        "0.0.0.0 serves the network, with a warning: the app has no login)",
    )
    p.add_argument("--port", type=int, default=7860,
                   help="port (default: 7860; 0: any free one, said in the log)")  # fmt: skip
    p.add_argument("--root-path", metavar="PATH",
                   help="behind a reverse proxy that serves the app under a path (e.g. "
                   "/thermocad): that path, so the page's links point under it; its visitors "
                   "are then taken as others (no page says that a file's patient number is a "
                   "training woman's) (default: $GRADIO_ROOT_PATH, else /)")  # fmt: skip
    p.set_defaults(func=_serve)

    _register_export(sub)


def _register_export(sub) -> None:
    p = sub.add_parser(
        "export", help="export the model to ONNX",
        description="Export a run folder's model to one ONNX file (needs thermocad[export]): "
        "the CNN's graph, with model.json in its metadata (preprocessing, threshold, the "
        "classical baseline's coefficients, the training women), so that predict, evaluate and "
        "serve take the .onnx file alone, with ONNX Runtime and numpy only. Saved as "
        "RUN/model.onnx, it is what an install without PyTorch uses for that run folder. "
        "Its logits are checked against PyTorch's before the file is written.")  # fmt: skip
    p.add_argument("run_dir", help="run folder that train or fit wrote")
    p.add_argument("--onnx", "--out", dest="onnx", required=True, type=output_file,
                   help="ONNX file to write (its name ends in .onnx; --out, as every other "
                   "command's output, names it too)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=_export)


def _predict(args: argparse.Namespace) -> int:
    from thermocad.inference.predict import run_predict

    return run_predict(
        args.run_dir,
        args.inputs,
        args.out,
        tta=args.tta,
        allow_unit_mismatch=args.allow_unit_mismatch,
        force=args.force,
        device=args.device,
        fmt=args.format,
    )


def _explain(args: argparse.Namespace) -> int:
    from thermocad.inference.explain import explain_paths

    written, failed = explain_paths(args.run_dir, args.files, args.out, force=args.force,
                                    allow_unit_mismatch=args.allow_unit_mismatch,
                                    device=args.device)  # fmt: skip
    if written:  # stdout's last line: what it wrote (every file failed: nothing)
        print(f"figures: {args.out}")
    return 1 if failed else 0


def _serve(args: argparse.Namespace) -> int:
    from thermocad.inference.app import serve
    from thermocad.utils.extras import require

    require("gradio", extra="app")
    serve(args.run_dir, host=args.host, port=args.port, root_path=args.root_path)
    return 0


def _export(args: argparse.Namespace) -> int:
    from thermocad.inference.export import export_onnx, onnx_metadata, probe_difference
    from thermocad.models.words import log_model_warnings
    from thermocad.utils.progress import log
    from thermocad.utils.signals import interrupted_by_sigterm

    with interrupted_by_sigterm():  # a kill removes the temporary file, as Ctrl+C does
        out = export_onnx(args.run_dir, args.onnx, force=args.force)
    try:  # what follows only reads the file, which is whole and was checked before its move
        worst, meta = probe_difference(out), onnx_metadata(out)
    except KeyboardInterrupt:  # a kill review: "interrupted" alone had read as no file
        log(f"note: {out} was written whole, and checked, before the interruption")
        raise
    log(f"wrote {out}; its logits on the check input are within {worst:.1e} of PyTorch's (at "
        "most 1e-4 allowed)")  # fmt: skip
    log_model_warnings(meta)  # the deployment step says what predict will say
    if meta.get("baseline"):
        log("note: the ONNX graph is the CNN; this model's P(Sick) averages its softmax with the "
            "classical baseline stored in the file's metadata (thermocad_model_json: baseline, "
            "features from thermocad.models.baseline.baseline_features); see docs/application.md")  # fmt: skip
    if views := int((meta.get("config") or {}).get("tta") or 0):
        from thermocad.inference.notes import copies

        log(f"note: this model's threshold was chosen on P(Sick) averaged over the image and "
            f"{copies(views)}, which thermocad draws with PyTorch (metadata tta_views): "
            "thermocad's predict does so where PyTorch is installed; scored on the image alone "
            "(without PyTorch, or by other software), a call near the threshold may differ")  # fmt: skip
    print(f"onnx: {out}")
    return 0
