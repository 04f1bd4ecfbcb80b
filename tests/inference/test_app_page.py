"""Web app: the page in a real headless Chromium (examples, uploads that never arrive, a
phone's width) and the answers to an example click."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import chromium_available
from tests.helpers.app import chromium, contrast, rgb, served_page, textbox

needs_chromium = pytest.mark.skipif(
    not chromium_available(), reason="chromium/chromedriver not installed"
)


@pytest.fixture(scope="module")
def bundle(run_dir):
    from thermocad.models.bundle import load_bundle

    return load_bundle(run_dir)


def test_an_example_click_answers_the_apps_own_file_and_never_says_upload(bundle, tmp_path):
    from thermocad.inference.examples import answer_example, synthetic_examples

    examples = synthetic_examples(tmp_path / "examples", n_patients=2, shape=(64, 80))
    files, labels = list(examples), list(examples.values())
    *_, result, status, call, cleared = answer_example(bundle, files, 1, False)
    assert result.startswith("T9002.txt: P(Sick)") and status.startswith("T9002.txt: analysed")
    assert cleared is None  # the upload box stays empty
    # With its label, the box says whether the call is the generator's truth (a reviewer could
    # not tell an example's miss from its hit).
    *_, call = answer_example(bundle, files, 1, False, labels)[:5]
    made = "Sick" if "Called Sick" in call else "Healthy"
    truth = labels[1].rpartition("generated ")[2]
    assert f"Example {labels[1]}: {'as generated' if made == truth else 'a miss'}." in call
    # Its view is known (the app drew it frontal), though its name does not say so.
    assert "View: frontal (a synthetic example)." in call and "View not checked" not in call
    files[0].unlink()  # the examples folder damaged under the running app
    *_, result, status, call, _ = answer_example(bundle, files, 0, False)
    assert status == ("Error: T9001.txt: the example file is gone (its folder was removed); "
                      "restart the app")  # fmt: skip
    assert "upload" not in status and "upload" not in call and result == ""
    # An index from no button (an API call): the page's prompt, not a traceback.
    assert answer_example(bundle, files, 7, False)[3].startswith("Upload a thermal")


@pytest.mark.browser
@needs_chromium
def test_browser_examples_answer_after_gradio_sweeps_its_cache(run_dir, tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By

    cache = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))  # this app's own Gradio cache
    with served_page(run_dir, tmp_path) as (driver, wait):
        first = "//button[contains(., 'synthetic #1')]"
        example = wait.until(lambda d: d.find_element(By.XPATH, first))
        # The page says what P(Sick) is not, beside the call it makes.
        disclaimer = driver.find_element(By.ID, "disclaimer").text
        assert "P(Sick) is the model's score, not a calibrated risk of cancer" in disclaimer
        assert "only which side of the threshold a score falls on was validated" in disclaimer
        driver.find_element(By.XPATH, "//label[contains(., 'Score a grey 8/16-bit image')]")
        # What delete_cache does 10-20 minutes after the start (or another app's sweep, as
        # Gradio names its copies by their content): every file of Gradio's cache is gone.
        shutil.rmtree(cache, ignore_errors=True)
        example.click()
        wait.until(lambda d: textbox(d, "status").startswith("T9001.txt: analysed"))
        assert textbox(driver, "result").startswith("T9001.txt: P(Sick)")
        assert "Called" in driver.find_element(By.ID, "verdict").text
        driver.find_element(By.XPATH, "//button[contains(., 'synthetic #2')]").click()
        wait.until(lambda d: textbox(d, "status").startswith("T9002.txt: analysed"))


def _shown(driver, elem_id: str) -> int:
    """How many images the page's figure `elem_id` (thermogram, overlay) shows (each figure
    holds a light and a dark image, one of them hidden)."""
    return driver.execute_script(
        f"return [...document.querySelectorAll('#{elem_id} img')]"
        ".filter((i) => getComputedStyle(i).display !== 'none').length")  # fmt: skip


@pytest.mark.browser
@needs_chromium
def test_browser_a_file_that_never_reaches_the_server_leaves_no_result(
    run_dir, dmr_files, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from thermocad.inference.answer import MAX_UPLOAD_MB
    from thermocad.inference.app import serve

    demo = serve(run_dir, port=0, block=False)  # 0: a free port, bound at once
    port = demo.server_port
    driver = chromium(home=tmp_path / "browser")
    wait = WebDriverWait(driver, 90)
    file_input = "#upload input[type=file]"

    def verdict() -> str:
        return driver.find_element(By.ID, "verdict").text

    try:
        driver.get(f"http://127.0.0.1:{port}/")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, file_input)).send_keys(
            str(dmr_files[0])
        )
        first = dmr_files[0].name
        wait.until(lambda d: textbox(d, "status").startswith(f"{first}: analysed"))
        assert "Called" in verdict() and _shown(driver, "thermogram") == 1
        # Over Gradio's own cap the file is never sent: the last result goes at once.
        # (its $$ and $& shown as they are: JavaScript's replace reads them as patterns)
        huge = tmp_path / "huge$$$&.npy"
        with open(huge, "wb") as fh:
            fh.truncate((MAX_UPLOAD_MB + 1) * 1024 * 1024)  # sparse: no disk to speak of
        driver.find_element(By.CSS_SELECTOR, file_input).send_keys(str(huge))
        wait.until(lambda d: textbox(d, "status").startswith("huge$$$&.npy: not analysed"))
        assert textbox(driver, "result") == "" and "Called" not in verdict()
        assert "Not analysed" in verdict()
        assert "huge$$$&.npy: not analysed: over the 20 MiB" in verdict()
        # The upload button is named by what to upload (Gradio's own name says neither).
        names = [b.get_attribute("aria-label") for b in
                 driver.find_elements(By.CSS_SELECTOR, "#upload [aria-label]")]  # fmt: skip
        named = [n for n in names if n != "Clear"]  # Gradio's button that empties the box
        assert named and all(n.startswith("Thermal file (DMR text matrix") for n in named), names
        assert _shown(driver, "thermogram") == _shown(driver, "overlay") == 0
        # The same file as before, whose answer is the same as the last one: shown again in
        # full (the clearing went through Gradio's state, not around it).
        driver.find_element(By.CSS_SELECTOR, file_input).send_keys(str(dmr_files[0]))
        wait.until(lambda d: textbox(d, "status").startswith(f"{first}: analysed"))
        assert "Called" in verdict() and _shown(driver, "thermogram") == 1
        assert textbox(driver, "result").startswith(f"{first}: P(Sick)")
        # The server stops (or the network drops): the upload never arrives, and the page shows
        # no result, only the new file's name, not the last file's verdict beside it.
        demo.close()
        driver.find_element(By.CSS_SELECTOR, file_input).send_keys(str(dmr_files[1]))
        # "uploading", or, once Gradio's pop-up says the upload failed, "not analysed: ..."
        wait.until(lambda d: textbox(d, "status").startswith(
            (f"{dmr_files[1].name}: uploading\u2026", f"{dmr_files[1].name}: not analysed: ")))  # fmt: skip
        assert textbox(driver, "result") == "" and "Called" not in verdict()
        assert _shown(driver, "thermogram") == _shown(driver, "overlay") == 0
    finally:
        driver.quit()
        demo.close()


def test_the_verdict_says_when_the_model_makes_no_result(bundle, dmr_files, monkeypatch):
    from thermocad.inference.app import answer_file

    path = str(dmr_files[0])
    assert bundle.meta["config"]["max_batches"]  # the tests' model is a smoke run
    call = answer_file(bundle, path, False)[4]
    # In the verdict box itself, under the call: the header that says it scrolls away.
    assert "below the threshold" in call or "at or above the threshold" in call
    assert '<div style="font-weight:700;color:#222">Smoke-run model: not a result.</div>' in call
    monkeypatch.setitem(bundle.meta, "data", {"synthetic_share": 1.0})
    call = answer_file(bundle, path, False)[4]
    assert (
        "Smoke-run model: not a result. Model trained on synthetic women: a demonstration." in call
    )
    monkeypatch.setitem(bundle.meta, "config", {**bundle.meta["config"], "max_batches": None})
    monkeypatch.setitem(bundle.meta, "data", {"synthetic_share": 0.4})
    call = answer_file(bundle, path, False)[4]
    assert "Model trained partly (40%) on synthetic women: a demonstration." in call
    assert "Smoke-run" not in call
    monkeypatch.setitem(bundle.meta, "data", {})  # a model of women, trained in full: no line
    call = answer_file(bundle, path, False)[4]
    assert "Smoke-run" not in call and "synthetic women" not in call
    # The same warnings as predict's model_warning column: what its cross-validation found too.
    monkeypatch.setitem(bundle.meta, "cv", {"warnings": ["its AUC cannot be told from chance"]})
    call = answer_file(bundle, path, False)[4]
    assert "Its own cross-validation found it of no use (the page&#x27;s header says why)." in call


@pytest.mark.browser
@needs_chromium
def test_browser_a_phone_shows_the_figures_whole_and_long_names_inside_the_verdict(
    run_dir, dmr_files, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from thermocad.inference.app import serve

    # No hyphen or space to break at (Gradio shortens names over some 200 characters).
    long = tmp_path / ("T0001_" + "leftandrightbreastsatrest" * 5 + ".txt")
    long.write_bytes(dmr_files[0].read_bytes())
    demo = serve(run_dir, port=0, block=False)  # 0: a free port, bound at once
    port = demo.server_port
    driver = chromium(390, 700, home=tmp_path / "browser")  # a phone's width and height
    wait = WebDriverWait(driver, 90)
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        file_input = "#upload input[type=file]"
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, file_input)).send_keys(str(long))
        wait.until(lambda d: textbox(d, "status").startswith(f"{long.name}: analysed"))
        # The answer, below the upload on a phone, is scrolled into view (a reviewer's upload
        # seemed to do nothing: the box was under the screen's bottom edge).
        top, bottom, height = driver.execute_script(
            "const r = document.querySelector('#verdict .verdict').getBoundingClientRect();"
            "return [r.top, r.bottom, window.innerHeight]")  # fmt: skip
        assert top >= 0 and bottom <= height + 1, (top, bottom, height)  # +1: sub-pixel
        wait.until(lambda d: _shown(d, "thermogram") == _shown(d, "overlay") == 1)
        width = driver.execute_script("return document.documentElement.clientWidth")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
        box = driver.find_element(By.CSS_SELECTOR, "#verdict .verdict")
        assert box.get_property("scrollWidth") <= box.get_property("clientWidth")  # name wrapped
        box.screenshot(str(tmp_path / "phone_verdict.png"))
        for name in ("thermogram", "overlay"):
            image = driver.find_element(By.CSS_SELECTOR, f"#{name} img")
            driver.execute_script("arguments[0].scrollIntoView()", image)
            left, right = driver.execute_script(
                "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]", image
            )
            assert left >= 0 and right <= width, (name, left, right, width)  # the °C bar in view
            # Nothing around it scrolls sideways either (a wide image in a scrolling box).
            assert driver.execute_script(
                "for (let e = arguments[0]; e; e = e.parentElement)"
                "  if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX != 'visible')"
                "    return false;"
                "return true;",
                image,
            ), name
            driver.find_element(By.ID, name).screenshot(str(tmp_path / f"phone_{name}.png"))
    finally:
        driver.quit()
        demo.close()


def test_a_file_of_another_unit_is_said_in_words_both_ways():
    from types import SimpleNamespace

    from thermocad.inference.answer import allow_label
    from thermocad.inference.notes import unit_note
    from thermocad.inference.predict import check_unit
    from thermocad.utils.errors import ThermalFormatError

    # A temperature file for a grey-image model: no "celsius values ... intensity images".
    matrix = SimpleNamespace(unit="celsius", path="T0001.txt")
    assert unit_note({"unit": "intensity"}, matrix) == (
        "the file holds temperatures (°C) but the model was trained on image intensities "
        "(8/16-bit grey levels): its P(Sick) is not a measurement"
    )
    with pytest.raises(ThermalFormatError, match=r"holds temperatures \(°C\) but the model was "
                       r"trained on image intensities \(8/16-bit grey levels\);.* Use an "
                       r"8/16-bit grey image exported as the training images were, or"):  # fmt: skip
        check_unit(matrix, "intensity")  # not "use the original thermal matrix": it is one
    # The checkbox says what it lets through for this model, and what comes of it.
    assert allow_label("intensity").startswith("Score a temperature file (°C) with this grey")
    assert allow_label("celsius").startswith("Score a grey 8/16-bit image with this temperature")
    assert all("no Sick/Healthy call" in allow_label(u) for u in ("celsius", "intensity"))


@pytest.mark.browser
@needs_chromium
def test_browser_the_verdict_reads_in_a_dark_theme(run_dir, dmr_files, tmp_path):
    """Every line of the verdict box against its white ground, as the browser computes them in
    Gradio's dark theme (which colours the page's text light, line by line): 4.5:1 at least."""
    from selenium.webdriver.common.by import By

    with served_page(run_dir, tmp_path, "?__theme=dark") as (driver, wait):
        file_input = "#upload input[type=file]"
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, file_input)).send_keys(
            str(dmr_files[0]))  # fmt: skip
        wait.until(lambda d: textbox(d, "status").startswith(f"{dmr_files[0].name}: analysed"))
        colours = driver.execute_script(
            "const box = document.querySelector('#verdict .verdict');"
            "return [getComputedStyle(box).backgroundColor,"
            "        ...[...box.querySelectorAll(':scope > div')].map(e => getComputedStyle(e).color)]"
        )
        # The figures' dark twins are the ones shown (light type, no white ground to glare).
        shown = driver.execute_script(
            "return [...document.querySelectorAll('#thermogram img, #overlay img')]"
            ".filter((i) => getComputedStyle(i).display !== 'none').map((i) => i.className)")  # fmt: skip
    assert shown == ["tc-dark", "tc-dark"], shown
    ground, *lines = (rgb(c) for c in colours)
    assert ground == (255, 255, 255) and len(lines) >= 2
    assert all(contrast(c, ground) >= 4.5 for c in lines), colours


@pytest.mark.browser
@needs_chromium
def test_browser_the_file_chosen_last_is_the_one_answered(run_dir, dmr_files, tmp_path,
                                                          monkeypatch):  # fmt: skip
    """An upload still being analysed, then an example clicked: the page ends on the example
    (the upload's later answer, cancelled, never replaces it)."""
    import threading
    import time

    from selenium.webdriver.common.by import By

    import thermocad.inference.answer as answer_module

    real = answer_module.analyse
    started, finished = threading.Event(), threading.Event()

    def slow(bundle, path, *args):  # the upload takes 6 s more, the example its usual second
        if "T9" in path.name:
            return real(bundle, path, *args)
        started.set()
        time.sleep(6)
        try:
            return real(bundle, path, *args)
        finally:
            finished.set()

    monkeypatch.setattr(answer_module, "analyse", slow)
    with served_page(run_dir, tmp_path) as (driver, wait):
        example = wait.until(
            lambda d: d.find_element(By.XPATH, "//button[contains(., 'synthetic #2')]")
        )
        driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(
            str(dmr_files[0]))  # fmt: skip
        # The upload is being analysed before the click, however loaded the machine (a fixed
        # 1.5 s wait had the click come first under load, and then the upload rightly won).
        assert started.wait(timeout=90)
        # (clicked by script: the page's spinners may lie over the button meanwhile)
        driver.execute_script("arguments[0].click()", example)
        wait.until(lambda d: textbox(d, "status").startswith("T9002.txt: analysed"))
        assert finished.wait(timeout=90)  # the upload's analysis has ended...
        time.sleep(2)  # ...and its answer, were it not cancelled, would be on the page
        assert textbox(driver, "status").startswith("T9002.txt: analysed")
        assert textbox(driver, "result").startswith("T9002.txt: P(Sick)")


@pytest.mark.browser
@needs_chromium
def test_browser_the_page_keeps_its_places_while_a_file_is_analysed(run_dir, dmr_files, tmp_path,
                                                                    monkeypatch):  # fmt: skip
    """Before a file and while one is analysed, the figures and the verdict hold places of their
    size: the answer fills them instead of pushing the page about."""
    import time

    from selenium.webdriver.common.by import By

    import thermocad.inference.answer as answer_module

    real = answer_module.analyse

    def slow(*args):
        time.sleep(4)
        return real(*args)

    monkeypatch.setattr(answer_module, "analyse", slow)
    boxes = ("return ['verdict', 'thermogram', 'overlay'].map((id) => {"
             "const r = document.getElementById(id).getBoundingClientRect();"
             "return [Math.round(r.top + window.scrollY), Math.round(r.height)]})")  # fmt: skip
    with served_page(run_dir, tmp_path) as (driver, wait):
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#thermogram .figure-slot"))
        before = driver.execute_script(boxes)
        assert "its call is shown here" in driver.find_element(By.ID, "verdict").text
        driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(
            str(dmr_files[0]))  # fmt: skip
        wait.until(lambda d: textbox(d, "status").endswith("uploading\u2026"))
        time.sleep(1)  # being analysed
        during = driver.execute_script(boxes)
        assert f"{dmr_files[0].name}: being analysed" in driver.find_element(By.ID, "verdict").text
        assert during == before and all(height > 300 for _, height in before[1:])
        wait.until(lambda d: textbox(d, "status").startswith(f"{dmr_files[0].name}: analysed"))
        after = driver.execute_script(boxes)
        assert _shown(driver, "thermogram") == _shown(driver, "overlay") == 1
        # The figures' images fill their places (their captions below add a few lines).
        image = driver.find_element(By.CSS_SELECTOR, "#thermogram img").size["height"]
        slot_height = before[1][1]
        assert abs(image - slot_height) < 0.1 * slot_height, (image, slot_height)
        assert after[1][0] - before[1][0] < 150, (before, after)  # was 250 px and more


@needs_chromium
@pytest.mark.browser
def test_browser_an_upload_the_server_refuses_is_said_in_status(run_dir, dmr_files, tmp_path,
                                                               monkeypatch):  # fmt: skip
    """The route's budget spent (upload_quota.py answers 429): Status and the verdict say the
    file was not analysed and why; they had gone on saying "uploading" and "being analysed",
    with Gradio's pop-up alone telling."""
    from selenium.webdriver.common.by import By

    import thermocad.inference.upload_quota as quota

    monkeypatch.setattr(quota, "UPLOAD_BUDGET", 1000)  # bytes: less than one thermogram
    name = dmr_files[0].name
    with served_page(run_dir, tmp_path) as (driver, wait):
        file_input = wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, "#upload input[type=file]")
        )
        file_input.send_keys(str(dmr_files[0]))
        wait.until(lambda d: textbox(d, "status").startswith(f"{name}: not analysed: HTTP 429"))
        assert "try again later" in textbox(driver, "status")
        verdict = driver.find_element(By.ID, "verdict").text
        assert f"{name}: not analysed; Status says why" in verdict and "Called" not in verdict
