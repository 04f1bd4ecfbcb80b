"""Web app: answers for good, malformed, wrong-type and oversized files; a real browser session."""

from __future__ import annotations

import re
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import chromium_available
from tests.helpers.load import app_prob
from thermocad.inference.answer import MAX_UPLOAD_MB, OVERLAY_SLOT, THERMOGRAM_SLOT
from thermocad.inference.app import FIRST_EXAMPLE_ID, answer_file


@pytest.fixture(scope="session")
def bundle(run_dir):
    from thermocad.models.bundle import load_bundle

    return load_bundle(run_dir)


@pytest.fixture
def upload_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(root))
    return root


def _upload(root: Path, source: Path | None = None, name: str = "", data: bytes = b"") -> Path:
    """A file where Gradio puts uploads: <GRADIO_TEMP_DIR>/<hash>/<name>."""
    target = root / "0123abcd" / (name or source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes() if source else data)
    return target


def _png(html: str, kind: str = "tc-light") -> np.ndarray:
    """The image of an answer's <img class=KIND src="data:image/png;base64,..."> (tc-light,
    or tc-dark: the dark theme's)."""
    import base64
    import io

    from PIL import Image

    prefix = f'<img class="{kind}" src="data:image/png;base64,'
    assert prefix in html
    data = base64.b64decode(html.split(prefix)[1].split('"')[0])
    return np.asarray(Image.open(io.BytesIO(data)))


def test_good_file_answered_and_upload_kept_for_gradio(
    bundle, dmr_files, upload_root, tmp_path, monkeypatch
):
    import thermocad.inference.answer as answer_module

    # This test's own temp folder: the system's is shared with other tests and processes.
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    analysed = []
    real_analyse = answer_module.analyse
    monkeypatch.setattr(
        answer_module,
        "analyse",
        lambda b, copy, *a: analysed.append(copy) or real_analyse(b, copy, *a),
    )
    path = _upload(upload_root, dmr_files[0])
    thermogram, overlay, result, status, call, cleared = answer_file(bundle, str(path), False)
    # The file was analysed from a private copy in a thermocad-request-* folder of the temp folder.
    (copy,) = analysed
    assert copy.parent.parent == private_tmp and copy.parent.name.startswith("thermocad-request-")
    prob = float(bundle.predict([np.loadtxt(dmr_files[0])])[0])
    assert result.startswith(f"{path.name}: P(Sick) = {prob:.4f}, ")
    called = "Sick" if prob >= bundle.threshold else "Healthy"
    assert f"the threshold {bundle.threshold:.4f}: called {called}." in result
    # The call in large type, named, with what the name says of the view (a short name: nothing).
    assert f'Called {called}</div><div style="color:#222">{path.name}: P(Sick) {prob:.4f}' in call
    assert 'role="status"' in call and "View not checked (the file name does not give it)" in call
    assert f"called {called}" in overlay  # the overlay's alt text says the call too
    assert ("mean of the CNN" in result) == (bundle.baseline is not None)
    # What scored it and when, as predict's row says it: a page kept is a record (a review)
    import hashlib

    digest = hashlib.sha256(dmr_files[0].read_bytes()).hexdigest()[:16]
    assert re.search(rf"Scored 20\d\d-\d\d-\d\dT[\d:]+Z by the model of sha256 "
                     rf"{bundle.sha256[:16]}\.\.\. \(PyTorch .*; thermocad .*\); the file's "
                     rf"sha256 {digest}\.\.\.$", result)  # fmt: skip
    assert _png(thermogram).ndim == 3 and _png(overlay).shape[2] in (3, 4)
    assert "not a lesion" in overlay  # how to read the map, under it
    # What the command line's figure titles say is the page's text, which reflows on a phone;
    # the images are 640 px wide, drawn with large type for a phone to shrink.
    # (the call is the verdict's, not repeated under the map)
    assert "<figcaption>The network saw the dashed box only; the map explains the CNN half " \
        "(its P(Sick) " in overlay and f"Called {called}" not in overlay  # fmt: skip
    assert "<figcaption>The thermogram; R, L: her right, her left.</figcaption>" in thermogram
    assert _png(thermogram).shape[1] == _png(overlay).shape[1] == 640
    # Each figure also drawn for the dark theme, on the page's dark ground (a white figure
    # glared there), the page's style showing one of the two.
    for figure in (thermogram, overlay):
        light, dark = _png(figure), _png(figure, "tc-dark")
        assert dark.shape == light.shape and tuple(dark[0, 0, :3]) == (15, 15, 17)
        assert light[0, 0, :3].min() == 255
        assert ".dark .tc-light{display:none!important}" in figure
    assert "analysed" in status and cleared is None
    assert path.read_bytes() == dmr_files[0].read_bytes()  # Gradio's file: read, never deleted
    # The private copy went with its request, and the images were never files.
    assert not copy.exists() and not list(private_tmp.glob("thermocad-request-*"))
    assert sorted(p.name for p in upload_root.rglob("*") if p.is_file()) == [path.name]
    # From a `fit` folder (its split.csv's women): the same upload says she trained the model.
    pid = dmr_files[0].name[1:5].lstrip("0")
    noted = answer_file(bundle, str(path), False, frozenset({pid}))
    assert f"Note: patient number {pid} is one of the women this model was trained on" in noted[2]
    # The large call says it in a few words, in bold under the call (not in the small line):
    # she trained it, so this is no test result.
    assert ('<div style="font-weight:700;color:#222">Not a test result: patient number '
            f"{pid} is one of the women this model was trained on.") in noted[4]  # fmt: skip
    assert "Details in Result." in noted[4]
    assert "Not a test result" not in call


def test_a_training_file_uploaded_under_another_name_is_noted_by_its_bytes(
    bundle, run_dir, upload_root
):
    """As predict notes it (model.json's trained_files): the page had given a plain call."""
    import pandas as pd

    split = pd.read_csv(run_dir.parent / "data" / "split.csv")
    row = split[split["split"] == "train"].iloc[0]
    path = _upload(upload_root, Path(row["path"]), name="new_scan" + Path(row["path"]).suffix)
    _, _, result, _, call, *_ = answer_file(bundle, str(path), False, frozenset())
    assert f"Note: byte for byte a file of training patient {row['patient_id']}" in result
    assert "Not a test result: byte for byte a file of training patient" in call


def test_a_fit_model_says_what_its_threshold_did(bundle, dmr_files, upload_root, monkeypatch):
    path = _upload(upload_root, dmr_files[0])
    assert "cross-validation" not in answer_file(bundle, str(path), False)[2]  # no cv: no claim
    cv = {"folds": 5, "patients": 120, "sensitivity": 0.9184, "specificity": 0.8028}
    monkeypatch.setitem(bundle.meta, "cv", cv)
    result = answer_file(bundle, str(path), False)[2]
    assert ("At this threshold the 5-fold cross-validation of the procedure that made this "
            "model (120 women) found sensitivity 0.92 and specificity 0.80, on the predictions "
            "that chose the threshold, so optimistic for new women.") in result  # fmt: skip
    monkeypatch.setitem(bundle.meta, "data", {"synthetic_share": 1.0})  # the demo's model
    assert "(120 synthetic patients) found" in answer_file(bundle, str(path), False)[2]
    # model.json's threshold edited away from the one the CV chose: its figures are not claimed.
    chosen = {"threshold": bundle.threshold + 0.1, "threshold_method": "sensitivity"}
    monkeypatch.setitem(bundle.meta, "threshold_provenance", chosen)
    result = answer_file(bundle, str(path), False)[2]
    assert "found sensitivity" not in result
    assert (f"The threshold {bundle.threshold:.4f} is not the {bundle.threshold + 0.1:.4f} that "
            "the model's cross-validation chose (model.json edited?): no sensitivity or "
            "specificity was measured at it.") in result  # fmt: skip


def test_malformed_wrong_type_and_oversized_files(bundle, upload_root):
    bad = _upload(upload_root, name="garbage.txt", data=b"this is not a thermogram\n")
    *_, result, status, call, _ = answer_file(bundle, str(bad), False)
    assert result == "" and status.startswith("Error: garbage.txt")
    assert (
        'Not analysed</div><div style="color:#222">garbage.txt: ' in call
    )  # an error never looks like a result
    assert str(upload_root) not in status and "Traceback" not in status
    assert bad.exists()  # Gradio's to sweep
    exe = _upload(upload_root, name="tool.exe", data=b"MZ")
    assert "unsupported file type" in answer_file(bundle, str(exe), False)[3]
    big = upload_root / "big" / "huge.txt"
    big.parent.mkdir(parents=True)
    with big.open("wb") as fh:
        fh.truncate(22_000_000)  # sparse: refused on size before anything reads it
    assert "20.99 MiB is over the 20 MiB limit" in answer_file(bundle, str(big), False)[3]
    fake = _upload(upload_root, name="T9005.txt.gz", data=b"not gzip")  # not parsed as text
    status = answer_file(bundle, str(fake), False)[3]
    assert status.startswith("Error: T9005.txt.gz: not a gzip file (its name ends in .gz")


def test_an_oversized_upload_never_reads_as_within_the_limit(tmp_path):
    from thermocad.inference.answer import check_upload
    from thermocad.utils.errors import ThermalFormatError

    # 21,000,000 bytes is 20.03 MiB, and 20 MiB and one byte still over: shown rounded up.
    for size, shown in ((21_000_000, "20.03"), (20 * 2**20 + 1, "20.01")):
        big = tmp_path / f"{size}.txt"
        with big.open("wb") as fh:
            fh.truncate(size)
        with pytest.raises(ThermalFormatError, match=rf"{shown} MiB is over the 20 MiB limit"):
            check_upload(big)
    exact = tmp_path / "exact.txt"
    with exact.open("wb") as fh:
        fh.truncate(20 * 2**20)
    check_upload(exact)  # at the limit: taken


def test_image_for_temperature_model_points_to_the_checkbox(bundle, dmr_files, upload_root):
    from PIL import Image

    a = np.loadtxt(dmr_files[0])
    png = upload_root / "abc" / "exported.png"
    png.parent.mkdir(parents=True)
    Image.fromarray(np.uint8((a - a.min()) / (a.max() - a.min()) * 255)).save(png)
    status = answer_file(bundle, str(png), False)[3]
    # The checkbox named by what it does, and the units in words (not "celsius").
    assert "not temperatures" in status and (
        "tick 'Score a grey 8/16-bit image with this temperature (°C) model anyway: P(Sick) is "
        "shown, but no Sick/Healthy call is made' and upload the file again"
    ) in status  # fmt: skip
    # Allowed, it is scored, but no call is made on a score that is not a measurement.
    *_, result, _, call, _ = answer_file(bundle, str(png), True)
    held = ("the file holds image intensities (8/16-bit grey levels) but the model was trained on "
            "temperatures (°C): its P(Sick) is not a measurement")  # fmt: skip
    assert result.startswith(f"exported.png: no Sick/Healthy call: {held}.")
    assert "called" not in result and "cross-validation" not in result and "celsius" not in result
    assert f'No call</div><div style="color:#222">exported.png: {held}.</div>' in call
    assert "Called" not in call


def test_files_outside_upload_cache_are_never_deleted(bundle, dmr_files, upload_root):
    *_, result, _, _, _ = answer_file(bundle, str(dmr_files[0]), False)
    assert result.startswith(f"{dmr_files[0].name}: P(Sick)") and dmr_files[0].exists()


def test_concurrent_identical_uploads_all_answered(bundle, dmr_files, upload_root):
    from concurrent.futures import ThreadPoolExecutor

    # Gradio stores identical uploads under one content-hash path: 24 requests share it.
    path = _upload(upload_root, dmr_files[1])
    expected = float(bundle.predict([np.loadtxt(dmr_files[1])])[0])
    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(lambda _: answer_file(bundle, str(path), False), range(24)))
    statuses = [a[3] for a in answers]
    assert all(s.endswith("analysed (dmr-space, 64x80).") for s in statuses), statuses[:3]
    # the same result, but for when each was scored (its last sentence's time)
    assert {re.sub(r"Scored \S+", "", a[2]) for a in answers} == {
        re.sub(r"Scored \S+", "", answers[0][2])
    }
    assert answers[0][2].startswith(f"{path.name}: P(Sick) = {expected:.4f}")
    assert path.exists()


def test_implausible_upload_is_refused_with_the_reason(bundle, upload_root):
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.zeros((48, 64), np.float32))
    zeros = _upload(upload_root, name="zeros.npy", data=buffer.getvalue())
    thermogram, _, result, status, _, _ = answer_file(bundle, str(zeros), False)
    assert result == "" and thermogram == THERMOGRAM_SLOT  # no image: its place only
    assert status.startswith("Error: zeros.npy: nearly constant") and str(upload_root) not in status
    tiny = _upload(upload_root, name="tiny.txt", data=b"33.0 33.1\n33.2 33.3\n")
    assert "too small" in answer_file(bundle, str(tiny), False)[3]


def test_serve_warns_when_listening_on_every_interface():
    from thermocad.inference.address import UNNAMED, address_lines

    assert address_lines("127.0.0.1", 7860) == ["listening on http://127.0.0.1:7860"]
    every = address_lines("0.0.0.0", 8000)
    # http://0.0.0.0 is no address to open (a deployment review): the ones that are
    assert every[0].startswith("listening on port 8000 of every interface: http://127.0.0.1:8000")
    assert "EVERY network interface" in every[1]
    proxied = address_lines("127.0.0.1", 7860, "/thermocad")
    # behind a proxy the visitors are others, whatever headers it adds (a diff review)
    assert "point under /thermocad" in proxied[1] and proxied[2] == UNNAMED


def test_a_request_through_a_proxy_or_from_elsewhere_is_not_this_machines():
    # A proxy on this machine connects from 127.0.0.1: its headers say the page is another's.
    from types import SimpleNamespace as NS

    from thermocad.inference.address import on_this_machine

    def request(host, **headers):
        return NS(client=NS(host=host) if host else None, headers=headers)

    assert on_this_machine(None)  # a call from Python
    assert on_this_machine(request("127.0.0.1")) and on_this_machine(request("::1"))
    assert on_this_machine(request("::ffff:127.0.0.1"))
    assert not on_this_machine(request("127.0.0.1", **{"x-forwarded-for": "203.0.113.5"}))
    assert not on_this_machine(request("127.0.0.1", forwarded="for=203.0.113.5"))
    assert not on_this_machine(request("127.0.0.1", **{"x-real-ip": "203.0.113.5"}))
    assert not on_this_machine(request("192.168.1.20"))
    assert not on_this_machine(request(None)) and not on_this_machine(request("testclient"))


def test_root_path_is_checked_and_read_from_gradios_variable(monkeypatch):
    from thermocad.inference.address import check_root_path
    from thermocad.utils.errors import ConfigError

    monkeypatch.delenv("GRADIO_ROOT_PATH", raising=False)
    assert check_root_path(None) == "" and check_root_path("/thermocad/") == "/thermocad"
    assert check_root_path("https://example.org/t") == "https://example.org/t"
    with pytest.raises(ConfigError, match="--root-path 'thermocad': .* starting with /"):
        check_root_path("thermocad")
    monkeypatch.setenv("GRADIO_ROOT_PATH", "/from-env")
    assert check_root_path(None) == "/from-env" and check_root_path("") == ""
    monkeypatch.setenv("GRADIO_ROOT_PATH", "x")
    with pytest.raises(ConfigError, match="GRADIO_ROOT_PATH 'x'"):
        check_root_path(None)


@pytest.mark.parametrize("host", ["192.168.1.20", "myhost.example"])
def test_serve_warns_when_listening_on_another_address(host):
    from thermocad.inference.address import UNNAMED, address_lines

    assert address_lines(host, 7860) == [
        f"listening on http://{host}:7860",
        f"warning: listening on {host}, not only on this machine (127.0.0.1)",
        UNNAMED,  # a privacy review: a visitor could list the training women by file names
    ]
    for local in ("localhost", "::1"):  # this machine only, by another name: no warning
        assert address_lines(local, 7860) == [f"listening on http://{local}:7860"]


def test_served_to_others_a_file_name_alone_does_not_say_she_trained_it(
    run_dir, dmr_files, tmp_path, monkeypatch
):
    # Another woman's file under a training woman's number: noted on this machine; served
    # to others, not (a visitor could list the training women by trying names).
    import thermocad.inference.app as app_module
    from thermocad.evaluation.lockbox import seen_patients

    pid = sorted(seen_patients(run_dir), key=int)[0]
    renamed = tmp_path / f"T{int(pid):04d}.txt"
    renamed.write_bytes(dmr_files[0].read_bytes())
    made = {}
    monkeypatch.setattr(app_module, "build_app", lambda *a, **k: made.update(k) or 1 / 0)
    for host, root_path in (("127.0.0.1", None), ("0.0.0.0", None), ("127.0.0.1", "/t")):
        with pytest.raises(ZeroDivisionError):
            app_module.serve(run_dir, host=host, port=0, block=False, root_path=root_path)
        # a proxy (--root-path) need not add X-Forwarded-For: its visitors are others
        assert made["name_training_women"] is (host == "127.0.0.1" and not root_path)
    from thermocad.inference.answer import answer_file
    from thermocad.models.bundle import load_bundle

    bundle = load_bundle(run_dir)
    local = answer_file(bundle, str(renamed), False, frozenset(seen_patients(run_dir)))
    remote = answer_file(bundle, str(renamed), False, frozenset())  # what serve's page gets
    assert "is one of the women this model was trained on" in local[2]
    assert "women this model was trained on" not in remote[2] and "analysed" in remote[3]


def test_an_upload_swept_before_it_was_read_says_upload_it_again(bundle, upload_root):
    swept = upload_root / "0123abcd" / "vanished.txt"  # Gradio's cache emptied in between
    swept.parent.mkdir(parents=True)
    thermogram, overlay, result, status, call, cleared = answer_file(bundle, str(swept), False)
    assert status == "Error: vanished.txt: the upload is gone; upload it again"
    assert result == "" and (thermogram, overlay) == (THERMOGRAM_SLOT, OVERLAY_SLOT)
    assert "the upload is gone; upload it again" in call and str(upload_root) not in status


def test_an_address_in_use_or_not_here_is_one_line_naming_it(run_dir):
    from thermocad.inference.app import serve
    from thermocad.utils.errors import ConfigError

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"cannot serve on 127.0.0.1:{port}: .*--port"):
            serve(run_dir, port=port, block=False)
    with pytest.raises(ConfigError, match=r"cannot serve on 192.0.2.1:.*--host"):  # TEST-NET-1
        serve(run_dir, host="192.0.2.1", port=port, block=False)
    with pytest.raises(ConfigError, match=r"127.0.0.1:99999: a port is a number in 0..65535"):
        serve(run_dir, port=99999, block=False)
    with pytest.raises(ConfigError, match=r"no-such-host.invalid:.*: (?!Unknown error)"):
        serve(run_dir, host="no-such-host.invalid", port=port, block=False)


@pytest.mark.browser
@pytest.mark.skipif(not chromium_available(), reason="chromium/chromedriver not installed")
def test_browser_upload_then_malformed(run_dir, dmr_files, tmp_path, bundle):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.helpers.app import chromium
    from thermocad.inference.app import serve

    demo = serve(run_dir, port=0, block=False)  # 0: a free port, bound at once
    port = demo.server_port
    driver = chromium(home=tmp_path / "browser")  # not the user's ~/.config (an isolation review)
    wait = WebDriverWait(driver, 90)

    def box(name: str) -> str:
        return driver.find_element(By.CSS_SELECTOR, f"#{name} textarea").get_attribute("value")

    try:
        assert demo.server_name == "127.0.0.1"
        driver.get(f"http://127.0.0.1:{port}/")
        upload = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#upload input[type=file]"))
        assert "adjunct to mammography" in driver.find_element(By.ID, "disclaimer").text
        upload.send_keys(str(dmr_files[1]))
        wait.until(lambda d: box("result").startswith(f"{dmr_files[1].name}: P(Sick)"))
        prob = app_prob(box("result"))
        called = "Sick" if prob >= bundle.threshold else "Healthy"
        assert f"Called {called}" in driver.find_element(By.ID, "verdict").text
        assert abs(prob - float(bundle.predict([np.loadtxt(dmr_files[1])])[0])) < 1e-3
        driver.save_screenshot(str(tmp_path / "app_result.png"))
        for name in ("result", "status"):  # read-only, not disabled: Tab and readers reach them
            area = driver.find_element(By.CSS_SELECTOR, f"#{name} textarea")
            assert area.get_attribute("readonly") and not area.get_attribute("disabled")
        # Over Gradio's own cap a file never reaches the app: the page clears the last result.
        huge = tmp_path / "huge.npy"
        with open(huge, "wb") as fh:
            fh.truncate((MAX_UPLOAD_MB + 1) * 1024 * 1024)  # sparse: no disk to speak of
        driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(huge))
        wait.until(lambda d: box("status").startswith("huge.npy: not analysed"))
        assert box("result") == "" and "Called" not in driver.find_element(By.ID, "verdict").text
        # Dropped on the box instead (Gradio reads a drop without its file input): the same.
        driver.execute_script(
            "const e = new Event('drop', {bubbles: true, cancelable: true});"
            "Object.defineProperty(e, 'dataTransfer', {value: {files: [{name: 'dropped.npy', "
            f"size: {(MAX_UPLOAD_MB + 1) * 1024 * 1024}}}]}}}});"
            "document.querySelector('#upload').dispatchEvent(e);"
        )
        wait.until(lambda d: box("status").startswith("dropped.npy: not analysed"))
        assert "dropped.npy: not analysed" in driver.find_element(By.ID, "verdict").text
        bad = tmp_path / "malformed.txt"
        bad.write_text("36.5 36.6\nhello world\n")
        driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(bad))
        wait.until(lambda d: box("status").startswith("Error"))
        assert "malformed.txt" in box("status") and box("result") == ""
        assert "Not analysed" in driver.find_element(By.ID, "verdict").text
        driver.save_screenshot(str(tmp_path / "app_error.png"))
        # A type Gradio used to refuse before the app saw it (leaving the last result on the
        # page) is answered like any bad file; no past results are kept in the browser.
        upload_and_wait = driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]")
        upload_and_wait.send_keys(str(dmr_files[1]))
        wait.until(lambda d: box("result").startswith(f"{dmr_files[1].name}: P(Sick)"))
        exe = tmp_path / "tool.exe"
        exe.write_bytes(b"MZ")
        driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(exe))
        wait.until(lambda d: "tool.exe: unsupported file type" in box("status"))
        assert box("result") == ""
        assert demo.run_history is False and demo.footer_links == []
        # The preloaded synthetic examples run with one click.
        example = driver.find_element(By.XPATH, "//button[contains(., 'synthetic')]")
        number = int(example.text.split("#")[1].split(",")[0].strip())
        name = f"T{FIRST_EXAMPLE_ID + number - 1}.txt"  # numbered apart from DMR-IR's women
        driver.execute_script("arguments[0].click()", example)  # a spinner may lie over it
        wait.until(lambda d: box("status").startswith(f"{name}: analysed"))
        assert box("result").startswith(f"{name}: P(Sick)")
        assert "another camera" not in box("result")  # drawn at the model's own frame size
    finally:
        driver.quit()
        demo.close()


def test_examples_are_drawn_at_the_models_frame_size(tmp_path):
    from thermocad.inference.app import example_shape, synthetic_examples
    from thermocad.io.thermal import read_thermal

    assert example_shape({"data": {"frame_shapes": [[64, 80]]}}) == (64, 80)
    assert example_shape({}) == (480, 640)  # DMR-IR's frame when model.json does not say
    assert example_shape({"data": {"frame_shapes": [[5000, 80]]}}) == (480, 640)
    files = synthetic_examples(tmp_path, n_patients=2, shape=(64, 80))
    assert [p.name for p in files] == ["T9001.txt", "T9002.txt"]
    assert list(files.values())[0].startswith("synthetic #1, generated")
    assert read_thermal(next(iter(files))).shape == (64, 80)
    # A grey-image model's are grey PNGs (a review: each temperature example was refused).
    from thermocad.inference.examples import example_kind
    from thermocad.inference.predict import check_unit

    kind = example_kind({"unit": "intensity", "data": {"frame_shapes": [[64, 80]]}})
    grey = synthetic_examples(tmp_path / "grey", n_patients=2, **kind)
    assert [p.name for p in grey] == ["T9001.png", "T9002.png"]
    assert list(grey.values()) == list(files.values())  # the same women, the same truth
    for path in grey:
        image = read_thermal(path)
        check_unit(image, "intensity")  # read as the model's unit: not refused
        assert image.shape == (64, 80) and image.array.min() == 0 and image.array.max() == 255
    assert not list((tmp_path / "grey").glob("T*.txt"))


def test_the_page_header_says_what_the_model_is_and_what_fit_found_of_it():
    from types import SimpleNamespace

    from thermocad.inference.app import _header
    from thermocad.preprocess import PREPROCESS_VERSION

    meta = {"arch": "efficientnet_lite0", "baseline": {}, "config": {"max_batches": 2},
            "data": {"synthetic_share": 1.0}, "cv": {"warnings": ["it calls most Healthy women Sick"]}}  # fmt: skip
    bundle = SimpleNamespace(meta=meta, unit="celsius", threshold=0.4, views=lambda: 0)
    text = _header(bundle)
    assert (
        "Model: `efficientnet_lite0+baseline`, input unit `celsius`, decision threshold 0.4000."
        in text
    )
    assert "**Trained on synthetic thermograms" in text and "**A smoke run" in text
    assert "**The cross-validation that made it found: it calls most Healthy women Sick.**" in text
    meta.update(config={}, data={}, cv={}, preprocess_version=PREPROCESS_VERSION)
    assert "**" not in _header(bundle)
    meta["preprocess_version"] = "2026-12-01"  # trained on other inputs than this version makes
    assert "**This model saw its inputs as thermocad's preprocessing of 2026-12-01" in _header(
        bundle
    )


def test_example_folders_of_dead_processes_are_removed_and_others_kept(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    import tempfile
    import time

    from thermocad.inference import examples
    from thermocad.inference.examples import PREFIX, prune_orphans
    from thermocad.utils.lock import LOCK

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    mine = examples.examples_folder()  # this process's: held, kept
    hold = ("import sys, time; from thermocad.inference.examples import examples_folder; "
            "print(examples_folder(), flush=True); time.sleep(60)")  # fmt: skip
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    live = subprocess.Popen(
        [sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        other = Path(live.stdout.readline().strip())  # another live app's folder: kept
        gone = subprocess.run([sys.executable, "-c", hold.replace("time.sleep(60)", "")],
                              capture_output=True, text=True, env=env, check=True)  # fmt: skip
        dead = Path(gone.stdout.strip())  # its app ended before its exit hooks could run...
        dead.mkdir(exist_ok=True)
        (dead / LOCK).write_text("pid 1 (killed)\n")  # ...leaving its folder and lock file
        legacy = tmp_path / f"{PREFIX}123-abc"  # no lock file: another version's, left alone
        legacy.mkdir()
        young = tmp_path / f"{PREFIX}456-new"  # an app's between its making and its lock:
        young.mkdir()  # never probed nor removed (a parallel test's app failed to start)
        (young / LOCK).write_text("")
        aged = time.time() - 2 * examples.BORN_S
        for folder in (mine, other, dead, legacy):
            os.utime(folder, (aged, aged))
        assert prune_orphans(tmp_path) == [dead]
        assert mine.exists() and other.exists() and legacy.exists() and not dead.exists()
        assert young.exists()
    finally:
        live.kill()
        live.wait()
    assert prune_orphans(tmp_path) == [other]  # killed outright: its lock went with it


def test_each_verdicts_colour_reads_on_its_own_white_ground():
    """WCAG 2 contrast of each verdict's colour on the box's white ground: at least 4.5:1
    (the box sets its ground, so the page's dark mode cannot lower it)."""
    from tests.helpers.app import contrast
    from thermocad.inference.verdict import _VERDICTS, verdict

    for kind, (colour, _sign, _words) in _VERDICTS.items():
        assert "background:#fff;" in verdict(kind, "detail")
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert contrast(rgb, (255, 255, 255)) >= 4.5, kind


def test_figures_drawn_in_threads_keep_their_own_theme_and_leave_matplotlib_as_it_was():
    """matplotlib's settings are global: eight requests' threads had put one's dark type in
    another's light figure, and left the dark theme set (an isolation review)."""
    from concurrent.futures import ThreadPoolExecutor

    import matplotlib

    from thermocad.inference.answer import _themed
    from thermocad.inference.panels import draw_thermogram

    array = np.linspace(24, 36, 48 * 64, dtype=np.float32).reshape(48, 64)
    before = dict(matplotlib.rcParams)
    alone = _themed("t", draw_thermogram, array, "celsius", title=None)
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda _: _themed("t", draw_thermogram, array, "celsius",
                                                   title=None), range(16)))  # fmt: skip
    assert all(html == alone for html in together)
    assert dict(matplotlib.rcParams) == before


def test_the_score_api_checks_and_words_a_file_as_the_page_does(bundle, dmr_files, upload_root):
    """A mutation review: /score's plausibility check, its unit check and its hiding of the
    server's paths had no test of their own."""
    import io

    import gradio as gr
    from PIL import Image

    from thermocad.inference.score import score_upload

    buffer = io.BytesIO()
    np.save(buffer, np.zeros((48, 64), np.float32))
    zeros = _upload(upload_root, name="zeros.npy", data=buffer.getvalue())
    with pytest.raises(gr.Error) as refused:
        score_upload(bundle, str(zeros), False)
    said = refused.value.message
    assert said.startswith("zeros.npy: nearly constant") and "thermocad-request" not in said
    assert str(upload_root) not in said
    a = np.loadtxt(dmr_files[0])
    png = upload_root / "abc" / "exported.png"
    png.parent.mkdir(parents=True)
    Image.fromarray(np.uint8((a - a.min()) / (a.max() - a.min()) * 255)).save(png)
    with pytest.raises(gr.Error) as refused:
        score_upload(bundle, str(png), False)
    assert refused.value.message.startswith("exported.png: ") and "not temperatures" in (
        refused.value.message)  # fmt: skip
    # The API's own way to score it anyway, not a command-line flag (a parity review).
    assert refused.value.message.endswith(
        "or send True as the second argument (the page's checkbox) to score it anyway"
    )
    assert "--allow" not in refused.value.message  # fmt: skip
    assert score_upload(bundle, str(png), True)["decision"] == "no call"
    bad = _upload(upload_root, name="T0999.txt", data=b"30 31\nabc 32\n")
    with pytest.raises(gr.Error) as refused:
        score_upload(bundle, str(bad), False)
    assert refused.value.message.startswith("T0999.txt: line 2: 'abc' is not a number")
    assert "thermocad-request" not in refused.value.message
