"""A tiny trained model bundle and synthetic DMR files shared by the application tests."""

from __future__ import annotations

import contextlib
from pathlib import Path


def smoke_run(base: Path) -> Path:
    """Train (once per session: the folder is the cache) a 64 px efficientnet_lite0 smoke run."""
    run = base / "app_smoke" / "model"
    if (run / "model.json").exists():
        return run
    from tests.helpers.training import make_split
    from thermocad.training.config import TrainConfig
    from thermocad.training.run import train

    data = base / "app_smoke" / "data"
    data.mkdir(parents=True, exist_ok=True)
    split = make_split(data)
    config = TrainConfig.smoke(arch="efficientnet_lite0", pretrained=False, cycles=1)
    return Path(train(split, run, config, force=True))


def synthetic_dmr(base: Path, n_patients: int = 3) -> list[Path]:
    """Small DMR-style text matrices T0001.txt ... from thermocad.synth.cohort (64 x 80)."""
    out = base / "app_synth"
    if not out.exists():
        from thermocad.synth.cohort import generate_cohort

        generate_cohort(out, n_patients=n_patients, seed=3, height=64, width=80, sick_fraction=0.5)
    return sorted(out.glob("T*.txt"))


def exported_onnx(base: Path, run: Path) -> Path:
    """The smoke run exported to ONNX (once per session: the file is the cache)."""
    out = base / "app_smoke" / "model.onnx"
    if not out.exists():
        from thermocad.inference.export import export_onnx

        export_onnx(run, out)
    return out


def chromium(width: int = 1400, height: int = 1000, home: Path | None = None):
    """A headless Chromium driven by selenium, of this window size (the caller quits it);
    its profile and temporary files in `home` (a test's folder) when given, not the user's."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    flags = ("--headless --no-sandbox --disable-gpu --disable-background-networking "
             "--disable-component-update --no-first-run --disable-dev-shm-usage "
             f"--window-size={width},{height}")  # fmt: skip
    for flag in flags.split():
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver", env=browser_env(home)),
                            options=options)  # fmt: skip


def browser_env(home: Path | None) -> dict[str, str] | None:
    """chromedriver's environment, which Chromium inherits: HOME (its ~/.config, ~/.cache) in
    `home`, and TMPDIR in a short folder of /tmp's own, removed when the tests end: in a
    test's long tmp_path, Chromium's sockets would pass the 108-byte limit of a socket's path
    and it would not start, and in /tmp itself it leaves a folder for them per browser."""
    if home is None:
        return None
    import atexit
    import os
    import shutil
    import tempfile

    home.mkdir(parents=True, exist_ok=True)
    sockets = tempfile.mkdtemp(prefix="tcb", dir="/tmp" if os.path.isdir("/tmp") else None)
    atexit.register(shutil.rmtree, sockets, ignore_errors=True)
    return {**os.environ, "HOME": str(home), "TMPDIR": sockets}


def textbox(driver, elem_id: str) -> str:
    """What the page's textbox `elem_id` (result, status) shows."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f"#{elem_id} textarea").get_attribute("value")


def rgb(css: str) -> tuple[int, ...]:
    """A CSS colour as the browser computes it ('rgb(255, 255, 255)'), as (r, g, b)."""
    import re

    return tuple(int(v) for v in re.findall(r"\d+", css)[:3])


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(rgb):
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
               for c in (v / 255 for v in rgb)]  # fmt: skip
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@contextlib.contextmanager
def served_page(run_dir: Path, tmp_path: Path, query: str = "", width: int = 1400,
                height: int = 1000):  # fmt: skip
    """The web app of `run_dir` on a free local port, opened (with `query`, e.g. '?__theme=dark')
    in a headless Chromium of that window size: (driver, a 90-second wait); both closed after."""
    from selenium.webdriver.support.ui import WebDriverWait

    from thermocad.inference.app import serve

    demo = serve(run_dir, port=0, block=False)  # 0: a free port, bound at once
    port = demo.server_port
    driver = chromium(width, height, home=tmp_path / "browser")
    try:
        driver.get(f"http://127.0.0.1:{port}/{query}")
        yield driver, WebDriverWait(driver, 90)
    finally:
        driver.quit()
        demo.close()
