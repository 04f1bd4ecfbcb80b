"""The training run: set up data and model, run the recipe's stages, write the run directory."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from thermocad.evaluation.trained_files import check_weights_apart, scored_paths
from thermocad.io.labels import CLASSES
from thermocad.models.registry import ArchSpec, check_trainable, create_model, get_arch
from thermocad.preprocess import PREPROCESS_VERSION
from thermocad.preprocess.transforms import EvalTransform, Normalization
from thermocad.reporting.plots import plot_lr_find
from thermocad.training.checkpoint import (
    Checkpoint,
    check_resume,
    check_same_preprocessing,
    complete_finished,
    open_run,
    split_fingerprint,  # fmt: skip
    start_run,
)
from thermocad.training.config import TrainConfig
from thermocad.training.data import ThermalData, build_data
from thermocad.training.distributed import distributed, fit_ctx, init_distributed, is_main_process
from thermocad.training.outputs import fit_ensemble, write_history, write_outputs
from thermocad.training.recipe import (
    History,
    body_features,
    find_lr,
    fit_schedule,
    head_learner,
    limit_batches,
    make_learner,
    seed_head,
    sgdr_epochs,
    valid_probs,  # fmt: skip
)
from thermocad.utils.errors import ConfigError
from thermocad.utils.files import MADE_BY
from thermocad.utils.lock import empty_held, holds_only_lock, writes_folder
from thermocad.utils.progress import log
from thermocad.utils.values import is_number


def eval_transform(cfg: TrainConfig, spec: ArchSpec) -> EvalTransform:
    """The EvalTransform a config implies (saved in model.json, reused at inference)."""
    mean, std = spec.norm_stats(len(cfg.channels))
    return EvalTransform(size=spec.check_size(cfg.size), mean=tuple(mean), std=tuple(std),
                         normalization=Normalization(cfg.norm, cfg.norm_width),
                         channels=cfg.channels, crop=cfg.crop, marker=cfg.marker,
                         background=cfg.background)  # fmt: skip


def _run_stage(learn, ckpt: Checkpoint, model, name: str, lr, n: tuple[int, int, int]) -> None:
    """Fit one stage (skipping epochs a checkpoint already holds), recording history and lrs."""
    cycles, cycle_len, cycle_mult = n
    total = sgdr_epochs(cycles, cycle_len, cycle_mult)
    done = ckpt.state["done"].get(name, 0)
    if total == 0 or done >= total:
        if total and "resumed_after" in ckpt.state:  # finished before the interruption
            ckpt.state["resumed_after"] = True
        return
    log(f"stage {name}: {total} epoch{'s' if total != 1 else ''}")
    # Continued inside the stage (optimizer and batch order afresh), or after stages a resumed
    # run skipped as finished (their draws not replayed, so this stage's differ; only the head
    # stage is seeded afresh, seed_head): not an uninterrupted run's, said in model.json.
    after_skipped = ckpt.state.pop("resumed_after", None) and name != HEAD_STAGE
    if done or after_skipped:
        ckpt.state.setdefault("resumed_inside", []).append({"stage": name, "epoch": done})

    # fastai's Recorder holds this fit's batches only: a stage resumed inside keeps its earlier
    # epochs' rates (saved with `done`), or schedule.png would lose them.
    before = list(ckpt.state["lrs"].get(name, [])) if done else []

    def on_epoch(epoch: int) -> None:
        ckpt.state["done"][name] = epoch
        ckpt.state["lrs"][name] = before + [float(v) for v in learn.recorder.lrs]
        if name != HEAD_STAGE or epoch in (1, total):  # a stop inside it starts it again
            ckpt.save(model)
        if is_main_process():
            write_history(ckpt.dir.parent, ckpt.state["rows"])

    history = History(ckpt.state["rows"], name, on_epoch, start=done)
    with fit_ctx(learn):
        fit_schedule(learn, lr, cycles, cycle_len, cycle_mult, [history], done)


def _head_learner(data: ThermalData, model, cfg: TrainConfig, workdir: Path):
    """A Learner over the classifier alone, fed body features computed once (the study's
    precompute=True): the head stage's, and lr_find's."""
    finish = data.transform.finish  # no augmentation, as in the study
    feats, n, y = body_features(model, data.maps, finish, cfg.batch_size * 4), data.n_train, data.y
    return head_learner(feats[:n], y[:n], feats[n:], y[n:], model.get_classifier, cfg,
                        data.dls.device, workdir)  # fmt: skip


HEAD_STAGE = "head (precomputed)"


def _fresh_head(head, ckpt: Checkpoint, cfg: TrainConfig) -> None:
    """Start the head stage from a head drawn from the seed, as the nested fast path does
    (`seed_head`); a run stopped inside it starts it again (seconds), so that it follows the
    uninterrupted run's batches. Once a later stage has begun, the trained head is kept."""
    done = ckpt.state["done"]
    later = any(v for k, v in done.items() if k != HEAD_STAGE)
    if cfg.head_epochs == 0 or later or done.get(HEAD_STAGE, 0) >= cfg.head_epochs:
        return
    if done.pop(HEAD_STAGE, 0):
        log("stage head (precomputed): started again from its first epoch (seconds; the same "
            "head as a run never stopped)")  # fmt: skip
        ckpt.state["rows"] = [r for r in ckpt.state["rows"] if r.get("stage") != HEAD_STAGE]
    if cfg.weights:
        log("the head stage starts from a head drawn from the seed; --weights gives the body")
    seed_head(head, cfg.seed)


def _stages(learn, head, model, ckpt: Checkpoint, cfg: TrainConfig, lr) -> None:
    """Every recipe's stages, each skipped when it has no epochs: the head on the frozen body's
    features (the default recipe stops there), frozen with augmentation, then unfrozen (the
    study's)."""
    learn.freeze()  # the frozen stage's
    _fresh_head(head, ckpt, cfg)
    _run_stage(head, ckpt, model, HEAD_STAGE, lr, (1, cfg.head_epochs, 1))
    _run_stage(learn, ckpt, model, "frozen", lr, (cfg.frozen_cycles, cfg.cycle_len, 1))
    learn.unfreeze()
    groups = len(learn.opt.param_groups) if learn.opt else 3
    lrs = np.array(cfg.lrs) if len(cfg.lrs) == groups else slice(cfg.lrs[0], cfg.lrs[-1])
    n = (cfg.cycles, cfg.cycle_len, cfg.cycle_mult)
    _run_stage(learn, ckpt, model, "unfrozen", lrs, n)


def _setup(split_csv: Path, cfg: TrainConfig, fold: int | str | None, resume: bool):
    """Seeded data, model (pretrained unless resuming) and loss for a config."""
    from fastai.losses import CrossEntropyLossFlat
    from fastai.torch_core import default_device, set_seed

    init_distributed()
    set_seed(cfg.seed, reproducible=True)
    spec = get_arch(cfg.arch)
    transform = eval_transform(cfg, spec)
    device = default_device()
    data = build_data(split_csv, transform, cfg.augmentation, cfg.batch_size, fold, device)
    pretrained = cfg.pretrained and not resume
    weights = None if resume else cfg.weights
    model = create_model(cfg.arch, pretrained, transform.in_chans, len(CLASSES), weights)
    weight = data.class_weights().to(device)
    return spec, transform, data, model.to(device), CrossEntropyLossFlat(weight=weight)


def run_lr_find(split_csv: Path, out_png: Path, cfg: TrainConfig, force: bool) -> float:
    """lr_find on the frozen model, on the learner `train` runs it on (the head on precomputed
    features, as the study's learner); writes the loss-vs-lr plot."""
    from thermocad.training.outputs import check_lr_find_out

    check_lr_find_out(split_csv, out_png, force)
    _, _, data, model, _ = _setup(split_csv, cfg, None, False)
    with tempfile.TemporaryDirectory() as workdir:
        learn = _head_learner(data, model, cfg, Path(workdir))
        learn.freeze()
        suggestion, lrs, losses = find_lr(learn, cfg.lr_find_iters)
    found = np.isfinite(suggestion)
    marks = [(suggestion, f"{suggestion:.1e}")] if found else []
    plot_lr_find(out_png, lrs, losses, marks, replace=force)
    if not found:
        raise ConfigError(f"lr_find found no suggestion: {len(losses)} points on the loss curve "
                          f"(drawn in {out_png}), too few before the loss diverged")  # fmt: skip
    log(f"lr_find suggests {suggestion:.2e} ({out_png})")
    return suggestion


def _lr_find_stage(learn, model, ckpt: Checkpoint, cfg: TrainConfig, out_dir, fresh) -> None:
    """lr_find before training (lr_find.png); the learning rate goes into the checkpoint.
    `fresh`: the folder was made by this run (emptied when no rate is found)."""
    if distributed():
        # fastai's LRFinder restores weights from a per-process temp dir: not DDP-safe.
        if cfg.lr is None:
            raise ConfigError("distributed runs need --lr (run `thermocad lr-find` first)")
        ckpt.state["lr"] = cfg.lr
        return
    learn.freeze()
    suggestion, lrs, losses = find_lr(learn, cfg.lr_find_iters)
    if cfg.lr is None and not np.isfinite(suggestion):
        if fresh:  # nothing trained yet: a folder this run made goes, so --lr alone reruns it
            empty_held(out_dir)
        raise ConfigError("lr_find found no suggestion (too few batches); give --lr")
    ckpt.state["lr"] = cfg.lr if cfg.lr is not None else suggestion
    ckpt.state["lr_suggestion"] = suggestion
    marks = [(suggestion, f"suggested {suggestion:.1e}")] if np.isfinite(suggestion) else []
    if cfg.lr is not None:  # the rate the run uses, where it is not the suggestion
        marks.append((cfg.lr, f"used {cfg.lr:.1e}"))
    plot_lr_find(out_dir / "lr_find.png", lrs, losses, marks)
    ckpt.save(model)


def _open(split_csv: Path, out_dir: Path, cfg: TrainConfig, fold, force: bool, resume: bool):
    """Open the run folder, then check the split, fold and weights by setting up data and model:
    (checkpoint, saved weights?, _setup's answer). On a failure (no such fold, weights not to
    be had offline, no split column) a folder this call marked loses its mark (and goes)."""
    fresh = not (out_dir / MADE_BY).exists()
    open_run(out_dir, force, resume)
    try:
        ckpt = Checkpoint(out_dir)
        options = {**cfg.to_dict(), "fold": fold}  # the fold decides the data as the config does
        if resume:  # compared before anything is built: another --arch would end in a traceback
            ckpt.read_state()
        saved = (ckpt.state.get("options") or {}).get("split")  # its women, as this fold has them
        options["split"] = split_fingerprint(split_csv, fold, saved)
        if resume:
            check_same_preprocessing(ckpt.state.get("preprocess_version"), out_dir)
            check_resume(ckpt.state.get("options"), options, out_dir)
            # True once a finished step is skipped: lr_find (its random draws are not
            # replayed), or a finished stage.
            ckpt.state["resumed_after"] = "lr" in ckpt.state
        ckpt.state.update(options=options, preprocess_version=PREPROCESS_VERSION)
        saved = resume and ckpt.saved_weights()  # interrupted before any save: a fresh network
        return ckpt, saved, _setup(split_csv, cfg, fold, saved)
    except BaseException:
        if fresh and is_main_process():
            (out_dir / MADE_BY).unlink(missing_ok=True)
        raise


@writes_folder("out_dir")
def run_training(
    split_csv: Path,
    out_dir: Path,
    cfg: TrainConfig,
    fold: int | str | None,
    force: bool,
    resume: bool,
    threshold: float | None = None,
) -> Path:
    """Train through every stage and write the run directory (see docs/design.md)."""
    if fold == "all" and threshold is None:
        raise ConfigError(
            "a final model (--fold all) has no held-out patients to choose its threshold on: "
            "give --threshold, e.g. the one cross-validation chose (compare's comparison.csv)"
        )
    check_trainable(cfg.to_dict(), resume)  # arch, size, weights: before anything is read
    if cfg.weights and not resume:  # not from a run trained on a woman this one scores
        check_weights_apart(cfg.weights, scored_paths(split_csv, fold), f"training on {split_csv}")
    if threshold is not None and not (is_number(threshold) and 0.0 <= threshold <= 1.0):
        raise ConfigError(f"--threshold must be a probability in 0..1, got {threshold!r}")
    options = {**cfg.to_dict(), "fold": fold}  # stopped while removing its checkpoint: whole
    if resume and (done := complete_finished(out_dir, options, split_csv, threshold)):
        return done
    if fold == "all":
        log("final model on every patient of the split outside any test set: the per-epoch "
            "valid metrics are in-sample")  # fmt: skip
    fresh = holds_only_lock(out_dir)  # made by this call
    ckpt, saved, (spec, transform, data, model, loss) = _open(split_csv, out_dir, cfg, fold,
                                                             force, resume)  # fmt: skip
    start_run(out_dir, resume)  # the split, fold, units and weights are usable: begin
    if saved:
        ckpt.load_weights(model)
    with tempfile.TemporaryDirectory() as workdir:
        learn = make_learner(data.dls, model, loss, spec.splitter, Path(workdir))
        # As the study's precompute=True: lr_find and the head both run on cached features.
        head = _head_learner(data, model, cfg, Path(workdir))
        if "lr" not in ckpt.state:
            _lr_find_stage(head, model, ckpt, cfg, out_dir, fresh)
        if cfg.max_batches:
            limit_batches(learn, cfg.max_batches)
        _stages(learn, head, model, ckpt, cfg, ckpt.state["lr"])
        # A final model's "validation" rows are its training rows: nothing to predict there.
        probs = None if fold == "all" else valid_probs(learn, data, model, cfg)
    if is_main_process():
        baseline, parts = fit_ensemble(cfg, data, probs)
        probs = parts.get("prob", probs)
        write_outputs(out_dir, model, transform, data, cfg, ckpt, probs, fold, threshold,
                       baseline, parts)  # fmt: skip
    return out_dir


def train(
    split_csv: str | Path,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    fold: int | str | None = None,
    force: bool = False,
    resume: bool = False,
    threshold: float | None = None,
) -> Path:
    """Train per `config` on split.csv and write a self-describing run directory.

    `fold`: None uses the split column, k validates on fold k, "all" trains a final model on
    every non-test patient (then `threshold`, e.g. the cross-validated one, is required).
    """
    return run_training(
        Path(split_csv), Path(out_dir), config or TrainConfig(), fold, force, resume, threshold
    )


def lr_find(split_csv: str | Path, out_png: str | Path, config: TrainConfig | None = None,
            force: bool = False) -> float:  # fmt: skip
    """Plot loss versus learning rate for the frozen model; return fastai's suggestion."""
    return run_lr_find(Path(split_csv), Path(out_png), config or TrainConfig(), force)
