"""ONNX export of a trained model bundle, for deployment without PyTorch."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from thermocad.models.meta import META_DIGEST, META_KEY, meta_digest, onnx_metadata  # noqa: F401 - re-exported

INPUT_NAME = "input"  # (batch, in_chans, size, size), already through the EvalTransform
OUTPUT_NAME = "logits"  # (batch, 2): Healthy, Sick; P(Sick) = softmax(logits)[:, 1]
# Pinned, not the exporter's default (which follows the torch version): 18 is the dynamo
# exporter's own opset (no version conversion). The file is IR version 10, which ONNX Runtime
# reads from 1.18; thermocad requires 1.19 (pyproject.toml: the lowest beside numpy 2).
OPSET = 18
PROBE = "probe_logits"  # metadata: the network's logits on probe_input(), checked at each load


def probe_input(shape) -> np.ndarray:
    """The fixed random input (3, *shape) whose logits export checks against PyTorch's and
    stores in the file, so that a loaded .onnx whose weights changed since is known."""
    return np.random.default_rng(0).standard_normal((3, *shape)).astype(np.float32)


def logits_differ(got, want, tolerance: float) -> float | None:
    """The largest difference between two logit arrays when beyond `tolerance` (relative to
    the logits' scale, at least 1), else None; NaN when either holds a NaN or an infinity."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if not (np.isfinite(got).all() and np.isfinite(want).all()):
        return float("nan")
    worst = float(np.max(np.abs(got - want)))
    return None if worst <= tolerance * max(1.0, float(np.max(np.abs(want)))) else worst


def difference_words(worst: float, other: str) -> str:
    """How logits compare with `other`'s, in words, for logits_differ's answer."""
    if not np.isfinite(worst):
        return "are not finite numbers (NaN or infinite)"
    return f"differ from {other} by {worst:.2e}"


def probe_difference(onnx_path: str | os.PathLike) -> float:
    """The largest difference between the exported file's logits on the check input and
    PyTorch's stored with it at export (what export's check compared)."""
    import onnxruntime as ort

    meta = onnx_metadata(onnx_path)
    size = int(meta["transform"]["size"])
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = probe_input((int(meta["in_chans"]), size, size))
    got = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    return float(np.max(np.abs(got - np.asarray(meta[PROBE], np.float32))))


def _check_target(run_dir: str | os.PathLike, out_path: str | os.PathLike) -> None:
    """A run folder exported to an .onnx file, not into another run's folder."""
    from thermocad.utils.errors import ConfigError

    if Path(run_dir).suffix.lower() == ".onnx":  # (or the two swapped: a review)
        what = "is an exported model already" if Path(run_dir).exists() else "no such run folder"
        swapped = (
            f" first, then --onnx FILE (swapped? {out_path} is one)"
            * (Path(out_path) / "model.json").is_file()
        )
        raise ConfigError(f"{run_dir}: {what}; export takes a run folder{swapped}")
    if Path(out_path).suffix.lower() != ".onnx":  # predict and serve know a model by its suffix
        raise ConfigError(f"{out_path}: an ONNX model file must end in .onnx")
    home = Path(out_path).absolute().parent
    if (home / "model.json").is_file() and home.resolve() != Path(run_dir).resolve():
        raise ConfigError(f"{out_path}: is in another run's folder ({home}), where it would "
                          "stand for that run's model; write it in its own run folder or "
                          "elsewhere")  # fmt: skip


def export_onnx(
    run_dir: str | os.PathLike, out_path: str | os.PathLike, force: bool = False
) -> Path:
    """Export the bundle in `run_dir` to one self-contained ONNX file with model.json as metadata."""
    from thermocad.utils.extras import require

    require("torch", "timm", "onnx", "onnxscript", extra="export")  # [export] brings [train]
    import onnx
    import torch

    from thermocad.models.bundle import load_bundle
    from thermocad.utils.files import atomic_path, check_writable

    _check_target(run_dir, out_path)
    out_path = check_writable(out_path, force)
    bundle = load_bundle(run_dir)
    size = bundle.transform.size  # model.json's input_size is optional (validate_meta: equal)
    example = torch.zeros(2, int(bundle.meta["in_chans"]), size, size)
    # Without --force, a file another process wrote there meanwhile is not replaced either.
    with atomic_path(out_path, suffix=".onnx", replace=force) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The dynamo exporter (torch.export + onnxscript) is torch's supported path and works offline.
        program = torch.onnx.export(
            bundle.model.eval(),
            (example,),
            dynamo=True,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
            verbose=False,
        )
        proto = program.model_proto
        # The exporter's notes on each node (stack traces with the exporting machine's paths,
        # its home folder included): not for a file that is shared; the graph is unchanged.
        nodes = [*proto.graph.node, *(n for f in proto.functions for n in f.node)]
        for item in [*nodes, *proto.graph.value_info, *proto.graph.initializer, *proto.functions]:
            del item.metadata_props[:]
        del proto.graph.metadata_props[:]
        # Deployments need the preprocessing and threshold, so the ONNX file carries model.json.
        meta = {k: v for k, v in bundle.meta.items() if k != "tensors"}
        # The women who trained it travel with it, so evaluate and predict still know them.
        from thermocad.evaluation.lockbox import run_patients

        meta["trained_on"] = run_patients(Path(run_dir))
        # What it was exported from: a run folder's model.onnx is checked against its bundle.
        meta["exported_from"] = bundle_fingerprint(run_dir)
        meta["onnx_opset"] = OPSET
        want = _torch_logits(bundle.model, example.shape[1:])
        meta[PROBE] = want.tolist()
        text = json.dumps(meta, default=str)  # with its digest: an edit after export is seen
        own = {META_KEY: text, META_DIGEST: meta_digest(text)}
        for key, value in {**own, **readable(meta)}.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.doc_string = DOC
        onnx.checker.check_model(proto)
        onnx.save_model(proto, tmp)
        check_numbers(bundle.model, tmp, example.shape[1:], want=want)  # else never moved in place
    return out_path


DOC = (
    "thermocad breast-thermogram classifier (research software, not a medical device). "
    f"Input {INPUT_NAME!r}: (batch, channels, size, size), thermograms prepared by thermocad's "
    "numpy code (its core install, no PyTorch: EvalTransform.from_dict(transform), prepare, then "
    f"finish_numpy) with metadata {META_KEY!r}'s 'transform', whose entries name that code's "
    f"settings, not a specification to rebuild it from; output {OUTPUT_NAME!r}: (batch, 2) "
    "logits, Healthy and Sick. P(Sick) is the softmax's second column, averaged over the image and its 'tta_views' "
    "augmented copies when there are any, and with the classical baseline in the metadata when "
    "it has one; Sick when P(Sick) >= threshold. thermocad predict and serve do all of it."
)


def readable(meta: dict) -> dict[str, str]:
    """A few entries of model.json at the top of the file's metadata, for a generic ONNX viewer
    (Netron) to show; thermocad reads only META_KEY."""
    from thermocad import __version__

    out = {"thermocad_version": __version__, "classes": ",".join(map(str, meta["classes"])),
           "arch": str(meta["arch"]), "input_size": str(meta["transform"]["size"]),
           "baseline_averaged": "yes" if meta.get("baseline") else "no",
           "tta_views": str(int((meta.get("config") or {}).get("tta") or 0))}  # fmt: skip
    if meta.get("threshold") is not None:
        out["threshold"] = repr(float(meta["threshold"]))
    if origin := meta.get("initial_weights"):  # a copy shared on keeps their licence's notice
        out["initial_weights"] = f"{origin['source']}; licence: {origin['licence']}"
    # What predict's model_warning column says (a smoke run, synthetic women, a cross-validation
    # that found it of no use): an ONNX review found it only inside the model.json entry.
    from thermocad.models.words import table_warning

    if warning := table_warning(meta, "the model card"):
        out["model_warning"] = warning
    return out


def _torch_logits(model, shape) -> np.ndarray:
    """PyTorch's logits for the probe input."""
    import torch

    with torch.no_grad():
        return model.eval()(torch.from_numpy(probe_input(shape))).numpy()


def check_numbers(model, onnx_path: Path, shape, tolerance: float = 1e-4, want=None) -> float:
    """The ONNX file's logits against PyTorch's on the fixed probe input (the checker checks
    the graph's structure only; `want`: PyTorch's, when already computed); ModelFormatError
    beyond `tolerance`. The largest difference."""
    import onnxruntime as ort

    from thermocad.utils.errors import ModelFormatError

    want = _torch_logits(model, shape) if want is None else want
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: probe_input(shape)})[0]
    if (worst := logits_differ(got, want, tolerance)) is not None:
        words = difference_words(worst, "PyTorch's")
        raise ModelFormatError(f"{onnx_path}: the exported model's logits {words}; the export "
                               "is wrong, not saved")  # fmt: skip
    return float(np.max(np.abs(got - want)))


def bundle_fingerprint(run_dir: str | Path) -> dict[str, str]:
    """SHA-256 of the bundle's two files: what an exported .onnx records as its source, so
    that a run folder's model.onnx is known to be this bundle's (inference.loading). The
    model.json's is of its content (keys sorted, no spacing): a copy whose line ends or
    indentation changed is the same model. A file the folder lacks is left out."""
    import hashlib
    import json

    from thermocad.models.bundle import META, WEIGHTS, file_sha256

    run_dir = Path(run_dir)
    out = {}
    if (run_dir / WEIGHTS).is_file():
        out[WEIGHTS] = file_sha256(run_dir / WEIGHTS)
    if (run_dir / META).is_file():
        content = json.loads((run_dir / META).read_text(encoding="utf-8"))
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        out[META] = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return out
