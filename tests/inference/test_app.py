"""Web app: answers for good, malformed, wrong-type and oversized files; a real browser session."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import chromium_available
from thermocad.inference.app import answer_file


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


def test_good_file_answered_and_upload_deleted(bundle, dmr_files, upload_root):
    path = _upload(upload_root, dmr_files[0])
    thermogram, overlay, result, status, cleared = answer_file(bundle, str(path), False, True)
    prob = float(bundle.predict([np.loadtxt(dmr_files[0])])[0])
    assert result.startswith(f"P(Sick) = {prob:.3g}; decision: ")
    assert f"threshold {bundle.threshold:.3g}" in result
    assert ("mean of the CNN" in result) == (bundle.baseline is not None)
    assert thermogram.ndim == 3 and overlay.shape[2] == 3
    assert "analysed" in status and cleared is None
    assert not path.exists() and not path.parent.exists()  # the upload is gone


def test_malformed_wrong_type_and_oversized_files(bundle, upload_root):
    bad = _upload(upload_root, name="garbage.txt", data=b"this is not a thermogram\n")
    *_, result, status, _ = answer_file(bundle, str(bad), False, True)
    assert result == "" and status.startswith("Error: garbage.txt")
    assert str(upload_root) not in status and "Traceback" not in status
    assert not bad.exists()
    exe = _upload(upload_root, name="tool.exe", data=b"MZ")
    assert "unsupported file type" in answer_file(bundle, str(exe), False, True)[3]
    big = upload_root / "big" / "huge.txt"
    big.parent.mkdir(parents=True)
    with big.open("wb") as fh:
        fh.truncate(21_000_000)  # sparse: refused on size before anything reads it
    assert "over the 20 MB limit" in answer_file(bundle, str(big), False, True)[3]
    assert not big.exists()


def test_image_for_temperature_model_points_to_the_checkbox(bundle, dmr_files, upload_root):
    from PIL import Image

    a = np.loadtxt(dmr_files[0])
    png = upload_root / "abc" / "exported.png"
    png.parent.mkdir(parents=True)
    Image.fromarray(np.uint8((a - a.min()) / (a.max() - a.min()) * 255)).save(png)
    status = answer_file(bundle, str(png), False, False)[3]
    assert "not temperatures" in status and "Accept 8/16-bit images" in status
    assert answer_file(bundle, str(png), True, True)[2].startswith("P(Sick)")


def test_files_outside_upload_cache_are_never_deleted(bundle, dmr_files, upload_root):
    *_, result, _, _ = answer_file(bundle, str(dmr_files[0]), False, True)
    assert result.startswith("P(Sick)") and dmr_files[0].exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
@pytest.mark.skipif(not chromium_available(), reason="chromium/chromedriver not installed")
def test_browser_upload_then_malformed(run_dir, dmr_files, tmp_path, bundle):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from thermocad.inference.app import serve

    port = _free_port()
    demo = serve(run_dir, port=port, block=False)
    options = webdriver.ChromeOptions()
    flags = "--headless --no-sandbox --disable-gpu --disable-background-networking "
    flags += (
        "--disable-component-update --no-first-run --disable-dev-shm-usage --window-size=1400,1000"
    )
    for flag in flags.split():
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 90)

    def box(name: str) -> str:
        return driver.find_element(By.CSS_SELECTOR, f"#{name} textarea").get_attribute("value")

    try:
        assert demo.server_name == "127.0.0.1"
        driver.get(f"http://127.0.0.1:{port}/")
        upload = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#upload input[type=file]"))
        assert "adjunct to mammography" in driver.find_element(By.ID, "disclaimer").text
        upload.send_keys(str(dmr_files[1]))
        wait.until(lambda d: box("result").startswith("P(Sick)"))
        prob = float(box("result").split("=")[1].split(";")[0])
        assert abs(prob - float(bundle.predict([np.loadtxt(dmr_files[1])])[0])) < 1e-3
        driver.save_screenshot(str(tmp_path / "app_result.png"))
        bad = tmp_path / "malformed.txt"
        bad.write_text("36.5 36.6\nhello world\n")
        driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(bad))
        wait.until(lambda d: box("status").startswith("Error"))
        assert "malformed.txt" in box("status") and box("result") == ""
        driver.save_screenshot(str(tmp_path / "app_error.png"))
        # The preloaded synthetic examples run with one click.
        example = driver.find_element(By.XPATH, "//button[contains(., 'synthetic')]")
        name = example.text.split("#")[1].strip()
        example.click()
        wait.until(lambda d: box("status").startswith(f"T{int(name):04d}.txt: analysed"))
        assert box("result").startswith("P(Sick)")
    finally:
        driver.quit()
        demo.close()
