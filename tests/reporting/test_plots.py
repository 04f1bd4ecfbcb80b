"""Plots write real PNGs; gallery selection picks the right rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from thermocad.reporting import galleries as G
from thermocad.reporting import plots

PNG = b"\x89PNG\r\n\x1a\n"

PRED = pd.DataFrame(
    {
        "path": [f"p{i}" for i in range(8)],
        "patient_id": range(8),
        "y": [1, 1, 1, 0, 0, 0, 1, 0],
        "prob": [0.95, 0.7, 0.2, 0.1, 0.45, 0.8, 0.55, 0.3],
    }
)


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG and path.stat().st_size > 1000


def test_basic_plots(tmp_path):
    y, p = PRED["y"], PRED["prob"]
    assert _is_png(plots.plot_confusion({"tp": 3, "fp": 1, "tn": 3, "fn": 1}, tmp_path / "cm.png"))
    assert _is_png(plots.plot_roc(y, p, 0.5, tmp_path / "roc.png"))
    assert _is_png(plots.plot_roc([1, 1], [0.2, 0.3], 0.5, tmp_path / "roc1.png"))
    assert _is_png(plots.plot_reliability(y, p, tmp_path / "rel.png"))
    hist = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "train_loss": [1, 0.8, 0.6],
            "valid_loss": [1, 0.9, 0.85],
            "accuracy": [0.5, 0.6, 0.7],
            "time": [1.0, 1.1, 1.0],
        }
    )
    assert _is_png(plots.plot_history(hist, tmp_path / "hist.png"))
    assert _is_png(
        plots.plot_bars({"a": 0.8, "b": 0.7}, {"a": (0.7, 0.9)}, tmp_path / "b.png", "AUC")
    )


def test_reliability_bins_by_hand():
    # bins of width 0.5: [0.1, 0.2, 0.3, 0.45] -> bin 0 (mean 0.2625, Sick 1 of 4 = 0.25)
    #                    [0.55, 0.7, 0.8, 0.95] -> bin 1 (mean 0.75, Sick 3 of 4 = 0.75)
    b = plots.reliability_bins(PRED["y"], PRED["prob"], n_bins=2)
    assert b["mean_prob"].tolist() == pytest.approx([0.2625, 0.75])
    assert b["observed"].tolist() == pytest.approx([0.25, 0.75])
    assert b["n"].tolist() == [4, 4]


def test_gallery_selection():
    g = G.select_galleries(PRED, threshold=0.5, n=2, seed=0)
    assert set(g) == set(G.GALLERIES)
    # called Sick but Healthy: 0.8 only; called Healthy but Sick: 0.2 only
    assert g["confident_sick_incorrect"]["prob"].tolist() == [0.8]
    assert g["confident_healthy_incorrect"]["prob"].tolist() == [0.2]
    assert g["confident_sick_correct"]["prob"].tolist() == [0.95, 0.7]
    assert g["confident_healthy_correct"]["prob"].tolist() == [0.1, 0.3]
    # nearest to 0.5: 0.45 and 0.55 (distance 0.05 each)
    assert sorted(g["most_uncertain"]["prob"]) == [0.45, 0.55]
    wrong = g["random_incorrect"]
    assert ((wrong["prob"] >= 0.5).astype(int) != wrong["y"]).all()


def test_write_galleries(tmp_path):
    arrays = {p: np.random.default_rng(0).normal(33, 1, (16, 20)) for p in PRED["path"]}
    out = G.write_galleries(PRED, 0.5, tmp_path, read=arrays.__getitem__, n=2)
    listing = pd.read_csv(out.pop("listing"))
    assert all(_is_png(p) for p in out.values())
    # Who is in each gallery, panel by panel, as the images' titles say; the report's alt text.
    chosen = G.select_galleries(PRED, 0.5, n=2)
    missed = listing[listing["gallery"] == "confident_healthy_incorrect"]
    assert missed["prob"].tolist() == chosen["confident_healthy_incorrect"]["prob"].tolist()
    assert set(missed["truth"]) == {"Sick"} and len(listing) == sum(map(len, chosen.values()))
    pid = int(missed["patient_id"].iloc[0])
    assert G.gallery_alt(tmp_path, "confident_healthy_incorrect") == (
        f"{G.TITLES['confident_healthy_incorrect']}: patient {pid}, truly Sick, P(Sick) 0.200"
    )
    assert G.gallery_alt(tmp_path / "elsewhere", "most_uncertain") == G.TITLES["most_uncertain"]
    empty = G.plot_gallery(PRED.iloc[:0], arrays.__getitem__, tmp_path / "e.png", "none")
    assert _is_png(empty)
    # The report says an empty gallery in words; the others are pictures. Healthy women only:
    # the galleries of Sick women are empty.
    from thermocad.reporting.report import galleries_section

    healthy, folder = PRED[PRED["y"] == 0], tmp_path / "healthy"
    G.write_galleries(healthy, 0.5, folder, read=arrays.__getitem__, n=2)
    chosen, html = G.select_galleries(healthy, 0.5, n=2), galleries_section(folder)
    assert any(chosen[name].empty for name in G.GALLERIES)  # the case is met
    for name in G.GALLERIES:
        if chosen[name].empty:
            assert f'<p class="missing">{G.TITLES[name]}: {G.EMPTY}</p>' in html
        else:
            assert f'alt="{G.gallery_alt(folder, name)}"' in html


def test_reliability_diagram_counts_women_not_images(tmp_path, monkeypatch):
    """A woman with three images is one point of the diagram, at her mean P(Sick): Wilson's
    intervals assume independent units, and a woman's images are not independent."""
    from thermocad.evaluation.evaluate import write_plots

    seen = {}

    def spy(y, p, path, n_bins=10, title="Calibration"):
        seen.update(y=list(y), p=list(p), title=title)
        return path

    monkeypatch.setattr(plots, "plot_reliability", spy)
    monkeypatch.setattr(plots, "plot_confusion", lambda c, path, title: seen.update(cm=(c, title)))
    pred = pd.DataFrame({"path": ["a1", "a2", "a3", "b1"], "patient_id": ["A", "A", "A", "B"],
                         "label": ["Sick"] * 3 + ["Healthy"], "prob": [0.9, 0.6, 0.3, 0.2]})  # fmt: skip
    write_plots(pred, 0.5, tmp_path, galleries=False, on="test")
    assert seen["y"] == [1, 0] and seen["p"] == pytest.approx([0.6, 0.2])
    assert seen["title"] == "Calibration (test women)"  # a file opened alone says whose
    counts, title = seen["cm"]  # images, and so titled: woman A's 0.3 is a false negative
    assert title == "Confusion matrix (test images)" and (counts["tp"], counts["fn"]) == (2, 1)


@pytest.mark.parametrize(("women", "bins"), [(12, 3), (29, 3), (50, 5), (99, 9), (400, 10)])
def test_the_reliability_diagram_has_a_bin_per_10_women_at_least_3(
    tmp_path, monkeypatch, women, bins
):
    """The rule plot_reliability's docstring states: min(n_bins, max(3, women // 10)) bins."""
    asked = []
    real = plots.reliability_bins

    def spy(y, p, n_bins=10):
        asked.append(n_bins)
        return real(y, p, n_bins)

    monkeypatch.setattr(plots, "reliability_bins", spy)
    y = np.arange(women) % 2
    plots.plot_reliability(y, np.linspace(0.01, 0.99, women), tmp_path / "rel.png")
    assert asked == [bins]


def test_the_reliability_diagrams_count_axis_has_whole_numbers(tmp_path, monkeypatch):
    kept = []
    real_save = plots.save
    monkeypatch.setattr(
        plots, "save", lambda fig, path, **kw: kept.append(fig) or real_save(fig, path, **kw)
    )
    # 3 bins of 4, 1 and 5 women (a demo's test set): a plain axis ticks 0, 2.5, 5.
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 0])
    prob = np.array([0.1, 0.1, 0.2, 0.2, 0.5, 0.8, 0.8, 0.9, 0.9, 0.8])
    plots.plot_reliability(y, prob, tmp_path / "rel.png")
    counts = kept[0].axes[1]  # the bars under the diagram: women per bin
    ticks = counts.get_yticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks


def test_every_gallery_of_a_run_shares_one_colour_scale(tmp_path, monkeypatch):
    """Galleries are shown to be compared: one scale for all (a figure review: 22-37 °C in one,
    23-35.5 in the next), from the women they show; each woman read once."""
    warm = {p: np.full((16, 20), 30.0 + i) for i, p in enumerate(PRED["path"])}
    reads, scales = [], []
    real = G.plot_gallery
    monkeypatch.setattr(G, "plot_gallery", lambda *a, **k: scales.append(a[5]) or real(*a, **k))
    G.write_galleries(PRED, 0.5, tmp_path, read=lambda p: reads.append(p) or warm[p], n=2)
    shown = {p for name, rows in G.select_galleries(PRED, 0.5, n=2).items() for p in rows["path"]}
    assert sorted(reads) == sorted(shown)
    low, high = min(30.0 + int(p[1:]) for p in shown), max(30.0 + int(p[1:]) for p in shown)
    assert scales == [(low, high)] * len(G.GALLERIES) and high - low >= 3


def test_the_schedule_draws_each_stage_as_a_line_of_its_own(tmp_path, monkeypatch):
    """Each stage a line from where the last ended, named in the legend: a vertical mark at a
    stage's start had stood on the y axis for the first stage (a figure review)."""
    kept = []
    real_save = plots.save
    monkeypatch.setattr(
        plots, "save", lambda fig, path, **kw: kept.append(fig) or real_save(fig, path, **kw)
    )
    plots.plot_schedule(tmp_path / "schedule.png", {"head": [0.01, 0.005, 0.0], "body": [1e-3] * 2})
    assert _is_png(tmp_path / "schedule.png")
    ax = kept[0].axes[0]
    lines = ax.get_lines()
    assert [list(line.get_xdata()) for line in lines] == [[0, 1, 2], [3, 4]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["head", "body"]
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
