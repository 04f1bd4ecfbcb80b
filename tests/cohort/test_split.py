"""Splits: patient-disjoint, stratified, reproducible, folds, balance, counts, leak guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thermocad.cli import main
from thermocad.cohort.split import check_no_leak, make_split, read_split, split_summary, write_split
from thermocad.utils.errors import ConfigError, OutputExistsError, SplitLeakError


def cohort(tmp_path, healthy=30, sick=20, seed=0) -> str:
    """A cohort.csv with 1-4 images per patient and a few excluded rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for pid in range(1, healthy + sick + 1):
        label = "Healthy" if pid <= healthy else "Sick"
        for frame in range(int(rng.integers(1, 5))):
            rows.append(dict(path=f"/d/T{pid:04d}.{frame}.txt", patient_id=pid, label=label,
                             view="frontal", excluded_reason=""))  # fmt: skip
    rows.append(dict(path="/d/T0999.txt", patient_id="", label="", view="", excluded_reason="file name not recognised"))  # fmt: skip
    rows.append(dict(path="/d/T0001.9.txt", patient_id=1, label="Healthy", view="right45", excluded_reason="not frontal"))  # fmt: skip
    path = tmp_path / "cohort.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def sides(df: pd.DataFrame) -> pd.Series:
    return df.groupby("patient_id")["split"].nunique()


def test_patient_split_is_disjoint_stratified_and_reproducible(tmp_path):
    path = cohort(tmp_path)
    df = make_split(path, valid=0.2, test=0.2, seed=3)
    assert (sides(df) == 1).all()
    assert len(df) == len(pd.read_csv(path)) - 2  # excluded rows are not split
    assert df["patient_id"].dtype.kind == "i" and (df["split_unit"] == "patient").all()
    for _label, part in df.groupby("label"):
        women = part.groupby("split")["patient_id"].nunique()
        # whole patients, each counted once however many images she has (1-4 here): each side
        # holds 20 % of the class's women, to the nearest woman (by images it had been 1 to 7
        # women of 20 in a review's multi-frame cohort)
        for name in ("valid", "test"):
            assert abs(women[name] - 0.2 * part["patient_id"].nunique()) <= 0.5
    again = make_split(path, valid=0.2, test=0.2, seed=3)
    pd.testing.assert_frame_equal(df, again)
    other = make_split(path, valid=0.2, test=0.2, seed=4)
    assert not df.set_index("path")["split"].equals(
        other.set_index("path").loc[df["path"], "split"]
    )


def test_folds_and_pure_cross_validation(tmp_path):
    df = make_split(cohort(tmp_path), test=0.2, folds=4, seed=0)
    assert set(df.loc[df["split"] == "test", "fold"]) == {-1}
    rest = df[df["split"] != "test"]
    assert set(rest["fold"]) == {0, 1, 2, 3}
    assert (rest.groupby("patient_id")["fold"].nunique() == 1).all()
    assert (rest["split"] == np.where(rest["fold"] == 0, "valid", "train")).all()
    cv = make_split(cohort(tmp_path), test=0, folds=5)
    assert "test" not in set(cv["split"]) and set(cv["fold"]) == set(range(5))
    # Each fold holds both classes (stratified), and the seed draws the folds.
    assert (cv.groupby("fold")["label"].nunique() == 2).all()
    other = make_split(cohort(tmp_path), test=0, folds=5, seed=1)
    assert not other.set_index("path").loc[cv["path"], "fold"].equals(cv.set_index("path")["fold"])
    summary = "\n".join(split_summary(cv))
    assert "train:" in summary and "patients" in summary


def test_folds_are_balanced_in_women_not_images(tmp_path):
    """1-4 images a woman: folds stratified on images had differed by 2 women of a class."""
    df = make_split(cohort(tmp_path, seed=1), test=0.2, folds=4, seed=1)
    rest = df[df["split"] != "test"]
    women = rest.groupby(["label", "fold"])["patient_id"].nunique()
    assert (women.groupby(level="label").agg(lambda n: n.max() - n.min()) <= 1).all()


def test_inner_folds_keep_each_woman_in_one_fold(tmp_path):
    """with_folds (nested cross-validation's inner folds) groups by woman: her several images
    never validate a model that trained on her other images."""
    from thermocad.cohort.split import with_folds

    outer = make_split(cohort(tmp_path, healthy=40, sick=30), test=0.2, folds=5, seed=0)
    training = outer[(outer["split"] != "test") & (outer["fold"] != 0)]
    assert (training.groupby("patient_id").size() > 1).any()  # women of several images
    for seed in (0, 1):
        inner = with_folds(training, 4, seed=seed)
        assert (inner.groupby("patient_id")["fold"].nunique() == 1).all()
        assert (inner.groupby("fold")["label"].nunique() == 2).all()
        assert set(inner["fold"]) == {0, 1, 2, 3}


def test_image_unit_warns_and_passes_the_guard(tmp_path, capsys):
    df = make_split(cohort(tmp_path), unit="image", seed=1)
    err = capsys.readouterr().err
    shared = int((sides(df) > 1).sum())
    assert shared > 0 and f"IMAGE-level split (the 2019 study's protocol): {shared} of 50" in err
    write_split(df, tmp_path / "split.csv")
    assert len(read_split(tmp_path / "split.csv")) == len(df)


def test_balance_and_counts(tmp_path):
    path = cohort(tmp_path)
    balanced = make_split(path, balance=True, seed=2)
    per_class = balanced["label"].value_counts()
    assert per_class["Healthy"] == per_class["Sick"]
    # the study's protocol at small scale: 8/2/3 images per class, image-level
    study = make_split(path, counts=(8, 2, 3), unit="image", seed=0)
    table = study.groupby(["label", "split"]).size().unstack()
    assert table.loc["Healthy"].to_dict() == {"test": 3, "train": 8, "valid": 2}
    assert table.loc["Sick"].to_dict() == {"test": 3, "train": 8, "valid": 2}
    grouped = make_split(path, counts=(8, 2, 3), seed=0)
    assert (sides(grouped) == 1).all() and (grouped["label"].value_counts() == 13).all()
    with pytest.raises(ConfigError, match="only"):
        make_split(path, counts=(800, 2, 3))


@pytest.mark.parametrize("options", [dict(balance=True), dict(counts=(8, 2, 3)), dict(unit="image"),
                                     dict(unit="image", folds=3), dict(unit="image", counts=(8, 2, 3))])  # fmt: skip
def test_splits_do_not_depend_on_the_rows_order(tmp_path, options):
    table = pd.read_csv(cohort(tmp_path), keep_default_na=False, na_values=[""])
    shuffled = table.sample(frac=1, random_state=3)
    picks = [make_split(t, seed=0, **options).set_index("path")["split"].sort_index()
             for t in (table, shuffled)]  # fmt: skip
    pd.testing.assert_series_equal(*picks)


def test_leak_guard_on_read_and_write(tmp_path):
    df = make_split(cohort(tmp_path), seed=0)
    out = write_split(df, tmp_path / "split.csv")
    with pytest.raises(OutputExistsError):
        write_split(df, out)
    leaky = pd.read_csv(out)
    patient = leaky.loc[leaky["split"] == "train", "patient_id"].iloc[0]
    leaky.loc[(leaky["patient_id"] == patient).idxmax(), "split"] = "test"
    if (leaky["patient_id"] == patient).sum() == 1:  # one image: give the patient a second one
        extra = leaky[leaky["patient_id"] == patient].assign(split="train", path="/d/extra.txt")
        leaky = pd.concat([leaky, extra])
    leaky.to_csv(tmp_path / "leaky.csv", index=False)
    with pytest.raises(SplitLeakError, match=rf"leaky.csv: 1 patients .*\[{patient}\]"):
        read_split(tmp_path / "leaky.csv")
    with pytest.raises(SplitLeakError, match="unknown split names"):
        check_no_leak(df.assign(split="holdout"))
    torn = pd.read_csv(out)
    twice = torn["patient_id"].iloc[0]
    extra = torn[torn["patient_id"] == twice].iloc[:1].assign(path="/d/again.txt")
    extra["label"] = "Sick" if extra["label"].iloc[0] == "Healthy" else "Healthy"
    pd.concat([torn, extra]).to_csv(tmp_path / "torn.csv", index=False)
    with pytest.raises(
        ConfigError, match=rf"torn.csv: 1 patients .*both Healthy and Sick.*\[{twice}\]"
    ):
        read_split(tmp_path / "torn.csv")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(valid=0.6, test=0.5), "fractions"),
        (dict(unit="visit"), "unknown split unit"),
        (dict(folds=1), "at least 2"),
        (dict(counts=(1, 2)), "counts"),
        (dict(folds=80), "80 folds need at least 80 patients"),
    ],
)
def test_bad_options(tmp_path, options, message):
    with pytest.raises(ConfigError, match=message):
        make_split(cohort(tmp_path), **options)


def test_with_folds_the_ignored_valid_fraction_does_not_limit_test(tmp_path, capsys):
    # --valid is ignored with --folds (fold 0 is the valid split): test 0.85 leaves 15% for folds
    df = make_split(cohort(tmp_path), valid=0.2, test=0.85, folds=2)
    assert set(df.loc[df["split"] != "test", "fold"]) == {0, 1}
    with pytest.raises(ConfigError, match="fractions"):
        make_split(cohort(tmp_path), valid=0.2, test=0.85)  # without folds it is used
    out = tmp_path / "split.csv"
    assert (
        main(["split", cohort(tmp_path), "--out", str(out), "--test", "0.85", "--folds", "2"]) == 0
    )


def test_folds_need_each_class_in_each_fold(tmp_path):
    # 45 patients but 5 Sick: 6 folds cannot each hold a Sick woman (a traceback from sklearn)
    with pytest.raises(
        ConfigError, match="6 folds need at least 6 patients of each class.*Sick has 5"
    ):
        make_split(cohort(tmp_path, healthy=40, sick=5), test=0.0, valid=0.0, folds=6)


def test_missing_or_empty_cohort(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        make_split(tmp_path / "nope.csv")
    pd.DataFrame(
        {"path": ["a"], "patient_id": [1], "label": ["Sick"], "excluded_reason": ["blurred"]}
    ).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(ConfigError, match="no kept images"):
        make_split(tmp_path / "c.csv")


def test_cli_split(tmp_path, capsys):
    path = cohort(tmp_path)
    out = str(tmp_path / "split.csv")
    assert (
        main(["split", path, "--valid", "0.2", "--test", "0.2", "--seed", "0", "--out", out]) == 0
    )
    err = capsys.readouterr().err
    assert "train:" in err and "patients" in err
    assert main(["split", path, "--out", out]) == 2  # exists
    assert main(["split", path, "--folds", "3", "--counts", "8,2,x", "--out", out, "--force"]) == 2
    assert "--counts" in capsys.readouterr().err
    assert main(["split", path, "--folds", "3", "--balance", "--out", out, "--force"]) == 0
    assert "fold" in read_split(out).columns
    before = Path(path).read_bytes()
    assert main(["split", path, "--out", path, "--force"]) == 2  # never over its own cohort
    assert "is the cohort being split" in capsys.readouterr().err
    assert Path(path).read_bytes() == before
    scan = tmp_path / "T0001.txt"  # a thermogram is never replaced by the table, --force or not
    scan.write_text("36.1 36.2\n36.3 36.4\n")
    assert main(["split", path, "--out", str(scan), "--force"]) == 2
    assert "a thermal file's name" in capsys.readouterr().err
    assert scan.read_text() == "36.1 36.2\n36.3 36.4\n"


def test_a_split_written_meanwhile_is_not_replaced_without_force(tmp_path, monkeypatch):
    """Two splits to one new --out: the second's check passed before the first wrote."""
    import thermocad.cohort.split as S
    from thermocad.utils.files import check_writable

    out = tmp_path / "split.csv"
    df = make_split(cohort(tmp_path), folds=3, test=0.0)

    def other_writes_after_the_check(path, force=False):
        checked = check_writable(path, force)
        out.write_text("the other split\n")  # the other run, between this one's check and write
        return checked

    monkeypatch.setattr(S, "check_writable", other_writes_after_the_check)
    with pytest.raises(OutputExistsError):
        write_split(df, out)
    assert out.read_text() == "the other split\n"


def test_a_cohort_of_one_class_split_into_folds_is_warned_of(tmp_path, capsys):
    make_split(cohort(tmp_path, healthy=0, sick=6), folds=3, test=0.0)
    err = capsys.readouterr().err  # the cohort is said to lack the class, not one split of it
    assert "WARNING: the cohort holds no Healthy women at all (only 6 Sick)" in err
    assert "valid holds no" not in err


def test_folds_of_and_fold_rows_leave_the_test_rows_out():
    from thermocad.cohort.split import fold_rows, folds_of

    df = pd.DataFrame({"patient_id": range(7), "split": ["train"] * 5 + ["test"] * 2,
                       "fold": [0, 1, 2, 0, 1, -1, -1]})  # fmt: skip
    assert folds_of(df) == [0, 1, 2] and folds_of(df.drop(columns="fold")) == []
    train, valid = fold_rows(df, 1)
    assert valid["patient_id"].tolist() == [1, 4]
    assert train["patient_id"].tolist() == [0, 2, 3]  # no test row on either side


def test_kept_rows_drops_excluded_rows_blank_or_missing_reason_kept():
    from thermocad.cohort.prepare import kept_rows

    df = pd.DataFrame({"path": list("abc"), "excluded_reason": ["", None, "blurred"]})
    assert kept_rows(df)["path"].tolist() == ["a", "b"]
    assert len(kept_rows(df.drop(columns="excluded_reason"))) == 3


def test_a_small_class_still_reaches_each_split_asked_for(tmp_path, capsys):
    # 3 Sick women at 0.2/0.2: by the images' middles alone valid never got one (20 of 20 seeds)
    rows = [dict(path=f"/d/T{p:04d}.txt", patient_id=p, label="Sick" if p > 10 else "Healthy",
                 view="frontal", excluded_reason="") for p in range(1, 14)]  # fmt: skip
    for seed in range(10):
        df = make_split(pd.DataFrame(rows), seed=seed)
        sick = df[df["label"] == "Sick"].groupby("split")["patient_id"].nunique()
        assert sick.to_dict() == {"test": 1, "train": 1, "valid": 1}
    assert "WARNING" not in capsys.readouterr().err
    # with folds, the folds keep one woman of the class each first (4 Sick, 4 folds: none is
    # taken for test, which is warned about, instead of refusing the cohort)
    four = [dict(r, patient_id=100, path="/d/T0100.txt", label="Sick") for r in rows[:1]]
    more = [dict(rows[0], patient_id=200 + k, path=f"/d/T{200 + k:04d}.txt") for k in range(30)]
    four = pd.DataFrame(rows + four + more)
    with_folds = make_split(four, test=0.1, folds=4)
    assert "test" not in set(with_folds.loc[with_folds["label"] == "Sick", "split"])
    two = make_split(pd.DataFrame(rows[:12]), seed=0)  # 2 Sick: one split goes without
    assert two[two["label"] == "Sick"]["split"].nunique() == 2
    assert "test holds no Sick patient (the cohort has 2)" in capsys.readouterr().err


@pytest.mark.parametrize("spelling", ["T0007", "0007", " 7", "7.0"])
def test_the_leak_guard_reads_a_patient_number_however_it_is_written(tmp_path, spelling):
    df = make_split(cohort(tmp_path), seed=0)
    moved = df[df["split"] == "train"].iloc[:1].assign(patient_id=7, path="/d/x.txt")
    df = df[df["patient_id"] != 7]
    label = moved["label"].iloc[0]
    twin = moved.assign(split="test", path="/d/y.txt", label=label).astype({"patient_id": object})
    twin["patient_id"] = spelling
    pd.concat([df, moved, twin]).to_csv(tmp_path / "spelled.csv", index=False)
    with pytest.raises(SplitLeakError, match=r"spelled.csv: 1 patients .*\[7\]"):
        read_split(tmp_path / "spelled.csv")


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("patient_id", "", r"patient_id is empty \(expected a patient number\)"),
     ("patient_id", "T2x", "patient_id 'T2x' is not a patient number"),
     ("label", "", r"label is empty \(expected Healthy or Sick\)")],
)  # fmt: skip
def test_a_split_row_without_a_woman_or_a_label_is_refused_by_line(
    tmp_path, column, value, message
):
    df = make_split(cohort(tmp_path), seed=0).astype({column: object})
    df.loc[4, column] = value
    df.to_csv(tmp_path / "split.csv", index=False)
    with pytest.raises(ConfigError, match=rf"split.csv: line 6: {message}"):
        read_split(tmp_path / "split.csv")
    rows = pd.read_csv(cohort(tmp_path), keep_default_na=False).astype({column: object})
    rows.loc[4, column] = value
    rows = pd.concat([rows.iloc[-1:], rows.iloc[:-1]])  # an excluded row first: line 7 now
    rows.to_csv(tmp_path / "bad_cohort.csv", index=False)
    with pytest.raises(ConfigError, match=rf"bad_cohort.csv: line 7: {message}"):
        make_split(tmp_path / "bad_cohort.csv")


def test_a_patient_in_two_folds_of_one_split_is_a_leak(tmp_path):
    """Cross-validation folds are splits too: a woman whose images sit in two training folds
    is validated on a model that trained on her."""
    df = make_split(cohort(tmp_path), test=0, folds=4, seed=0)
    several = df["patient_id"].value_counts()
    patient = several[several > 1].index[0]
    rows = df.index[df["patient_id"] == patient]
    df.loc[rows[0], "fold"] = (df.loc[rows[1], "fold"] + 1) % 4
    df.to_csv(tmp_path / "folds.csv", index=False)
    with pytest.raises(SplitLeakError, match=rf"1 patients appear in more than one split or fold.*\[{patient}\]"):  # fmt: skip
        read_split(tmp_path / "folds.csv")


def test_one_image_level_row_does_not_switch_the_leak_guard_off(tmp_path):
    """Only a split made wholly at the image level (--unit image) passes with shared women."""
    df = make_split(cohort(tmp_path), seed=0).assign(split_unit="patient")
    several = df["patient_id"].value_counts()
    patient = several[several > 1].index[0]
    first = df.index[df["patient_id"] == patient][0]
    df.loc[first, "split"] = "test" if df.loc[first, "split"] != "test" else "train"
    df.loc[df.index[0], "split_unit"] = "image"
    with pytest.raises(SplitLeakError, match=str(patient)):
        check_no_leak(df)


def test_a_file_renumbered_or_listed_twice_is_a_leak(tmp_path, capsys):
    """The guard reads each file's DMR name too: a frame moved to valid under a new number, or
    one file listed in train and in test, puts a woman on two sides however the ids read."""
    df = make_split(cohort(tmp_path), seed=0)
    several = df["patient_id"].value_counts()
    patient = several[several > 1].index[0]
    first = df.index[df["patient_id"] == patient][0]
    other = "valid" if df.loc[first, "split"] != "valid" else "train"
    df.loc[first, ["patient_id", "split"]] = [99, other]
    df.to_csv(tmp_path / "renumbered.csv", index=False)
    pattern = (
        rf"renumbered.csv: line {first + 2}: .*T{patient:04d}.* is patient {patient}'s by "
        rf"its file name, but sits as patient 99 in {other} while patient {patient} is in"
    )
    with pytest.raises(SplitLeakError, match=pattern):
        read_split(tmp_path / "renumbered.csv")
    # A file whose name gives a number no woman of the split has is left alone: prepare numbers
    # a linked file by the link's name (another site's women renumbered) and stores its target.
    df = make_split(cohort(tmp_path), seed=0)
    linked = df.assign(path=df["path"].str.replace("/d/T", "/store/T9", regex=False))
    linked.to_csv(tmp_path / "linked.csv", index=False)
    read_split(tmp_path / "linked.csv")
    twice = pd.concat([df, df.iloc[[3]].assign(split="test", patient_id=999)], ignore_index=True)
    twice.to_csv(tmp_path / "twice.csv", index=False)
    with pytest.raises(SplitLeakError, match=rf"lines \[5, {len(df) + 2}\] list the same file .* under two women or on two sides"):  # fmt: skip
        read_split(tmp_path / "twice.csv")
    pd.concat([df, df.iloc[[3]]], ignore_index=True).to_csv(tmp_path / "again.csv", index=False)
    read_split(tmp_path / "again.csv")  # one woman's file twice on her side (two links): no leak
    image = make_split(cohort(tmp_path), seed=0, unit="image")
    image.to_csv(tmp_path / "image.csv", index=False)
    capsys.readouterr()
    read_split(tmp_path / "image.csv")  # the study's protocol, on request: read, and said
    assert "image.csv is an IMAGE-level split" in capsys.readouterr().err


def test_a_split_table_is_split_again(tmp_path, capsys):
    """A split file given to split (a new seed, folds added) is split afresh, as its cohort
    would be, with a note, not a pandas traceback (CLI and Python alike)."""
    first = tmp_path / "split.csv"
    assert (
        main(["split", cohort(tmp_path), "--folds", "3", "--test", "0.2", "--out", str(first)]) == 0
    )
    again = make_split(first, valid=0.2, test=0.2, seed=3)
    fresh = make_split(cohort(tmp_path), valid=0.2, test=0.2, seed=3)
    assert "fold" not in again.columns and again["split"].tolist() == fresh["split"].tolist()
    assert "is already split: its split, fold, split_unit" in capsys.readouterr().err
    assert main(["split", str(first), "--seed", "3", "--out", str(tmp_path / "again.csv")]) == 0


@pytest.mark.parametrize("column", ["path", "patient_id", "label"])
def test_a_cohort_dataframe_without_a_column_is_named(tmp_path, column):
    table = pd.read_csv(cohort(tmp_path)).drop(columns=[column])
    with pytest.raises(ConfigError, match=rf"^the cohort table: missing columns \['{column}'\]"):
        make_split(table)


def test_a_file_named_for_a_woman_on_her_own_side_passes_and_image_splits_are_said_once(
    tmp_path, capsys
):
    """A file whose name gives woman X, listed under another woman on X's own side, puts no one
    on two sides (a link's name numbers it); an image-level split is said once per file."""
    df = make_split(cohort(tmp_path), seed=0)
    train = df[df["split"] == "train"]
    x, y = train["patient_id"].unique()[:2]
    row = train.index[train["patient_id"] == y][0]
    df.loc[row, "path"] = f"/d/T{x:04d}.7.txt"  # X's name, Y's row, both in train
    df.to_csv(tmp_path / "own_side.csv", index=False)
    read_split(tmp_path / "own_side.csv")
    make_split(cohort(tmp_path), seed=0, unit="image").to_csv(tmp_path / "img.csv", index=False)
    capsys.readouterr()
    read_split(tmp_path / "img.csv")
    read_split(tmp_path / "img.csv")
    assert capsys.readouterr().err.count("is an IMAGE-level split") == 1


def test_a_bad_option_is_said_before_an_existing_output(tmp_path, capsys):
    """Two mistakes at once (an existing --out, --folds 1): the option's refusal comes first, so
    the user who fixes it with --force does not then meet it; the output is untouched."""
    (tmp_path / "split.csv").write_text("keep me")
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("path,patient_id,label\n")
    assert main(["split", str(cohort), "--out", str(tmp_path / "split.csv"), "--folds", "1"]) == 2
    assert "--folds (folds in Python) must be a whole number, at least 2" in capsys.readouterr().err
    assert (tmp_path / "split.csv").read_text() == "keep me"


def test_a_split_row_marked_excluded_is_refused_not_trained_on(tmp_path):
    # A newer thermocad's exclusion, or a cell typed by hand: the image had been trained on.
    df = make_split(cohort(tmp_path), seed=1)
    write_split(df, tmp_path / "split.csv")
    edited = pd.read_csv(tmp_path / "split.csv", keep_default_na=False)
    edited["excluded_reason"] = ""
    edited.loc[3, "excluded_reason"] = "motion_blur"
    edited.to_csv(tmp_path / "edited.csv", index=False)
    with pytest.raises(ConfigError, match=r"edited.csv: line 5: excluded_reason is 'motion_blur'"):
        read_split(tmp_path / "edited.csv")
    edited.loc[3, "excluded_reason"] = ""  # emptied: the image is used
    edited.to_csv(tmp_path / "edited.csv", index=False)
    assert len(read_split(tmp_path / "edited.csv")) == len(df)
