"""The running web app under load: parallel uploads all answered correctly; SIGTERM cleans up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers.load import app_prob, expected_probs, upload_load
from tests.helpers.net import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def distinct_files(tmp_path_factory) -> list[Path]:
    from thermocad.synth.cohort import generate_cohort

    out = tmp_path_factory.mktemp("load_synth")
    generate_cohort(out, n_patients=6, seed=11, height=64, width=80, sick_fraction=0.5)
    return sorted(out.glob("T*.txt"))


def test_parallel_uploads_identical_and_distinct_all_answered(
    run_dir, distinct_files, tmp_path, monkeypatch, capsys
):
    from thermocad.inference.app import serve
    from thermocad.models.bundle import load_bundle

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    expected = expected_probs(load_bundle(run_dir), distinct_files)
    # 24 uploads, 8 at once: half of them the same file (one content-hash path in Gradio's
    # cache), the rest cycling through six distinct files.
    files = [distinct_files[0]] * 6 + distinct_files
    demo = serve(run_dir, port=0, block=False)  # 0: a free port, the one served said
    port = demo.server_port
    try:
        assert port > 0
        # The model's warnings, as predict logs them, before the address.
        log = capsys.readouterr().err
        assert log.index("warning: this model is a smoke run") < log.index(
            f"listening on http://127.0.0.1:{port}"
        )
        load = upload_load(f"http://127.0.0.1:{port}/", files, n=24, workers=8, timeout_s=600)
        # Before close(), which empties Gradio's cache: the uploads are there (Gradio's, swept
        # by it), the rendered images never became files (a gr.Image output would be .webp).
        cached = {p.suffix for p in (tmp_path / "gradio").rglob("*") if p.is_file()}
    finally:
        demo.close()
    assert ".txt" in cached and not cached & {".webp", ".png", ".jpg", ".jpeg", ".gif"}, cached
    assert load.failures == [] and len(load.answers) == 24
    for path, result, status in load.answers:
        assert status.startswith(f"{path.name}: analysed"), status
        want = expected[path.resolve()]
        # the app shows four decimals (more only where P(Sick) and the threshold read alike)
        assert abs(app_prob(result) - want) <= 5e-5 + 1e-9, (path.name, result, want)
    same = {re.sub(r"Scored \S+", "", result)  # but for when each was scored
            for path, result, _ in load.answers if path == distinct_files[0]}  # fmt: skip
    assert len(same) == 1  # 14 identical uploads, one answer


def test_sigterm_stops_serve_and_removes_its_example_folder(run_dir, tmp_path):
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "thermocad", "serve", str(run_dir), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 180  # bounded: the test ends by itself
        while time.monotonic() < deadline and proc.poll() is None:
            if any("listening on" in line for line in lines):
                break
            time.sleep(0.5)
        assert f"listening on http://127.0.0.1:{port}\n" in "".join(lines)
        assert list(tmp_path.glob("thermocad-examples-*")), "serve made no example folder"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    assert proc.returncode == 0, "".join(lines)
    assert not list(tmp_path.glob("thermocad-examples-*"))
    # stdout is for what a command wrote; Gradio's "Keyboard interruption ... closing server"
    # is a log line, on stderr
    assert proc.stdout.read() == ""


def test_a_page_through_a_proxy_is_not_told_a_training_womans_number(run_dir, dmr_files, tmp_path):
    """A deployment review: a proxy on this machine reaches the app from 127.0.0.1, so
    serve's --host alone had let remote visitors list the training women by file names."""
    import httpx
    from gradio_client import Client, handle_file

    from thermocad.evaluation.lockbox import seen_patients
    from thermocad.inference.app import serve

    pid = sorted(seen_patients(run_dir), key=int)[0]
    renamed = tmp_path / f"T{int(pid):04d}.txt"  # another woman's frame, a training number
    renamed.write_bytes(dmr_files[0].read_bytes())
    demo = serve(run_dir, port=0, block=False)
    url = f"http://127.0.0.1:{demo.server_port}/"
    try:
        results = {}
        for proxied in (False, True):
            headers = {"X-Forwarded-For": "203.0.113.5"} if proxied else None
            client = Client(url, verbose=False, download_files=False, headers=headers)
            try:
                answer = client.predict(handle_file(str(renamed)), False, api_name="/analyse")
            finally:
                client.close()
            results[proxied] = answer[2]
    finally:
        demo.close()
    assert "is one of the women this model was trained on" in results[False]
    assert "trained on" not in results[True] and "P(Sick)" in results[True]
    # --root-path: the page's links under the proxy's path (they had pointed at /: 404s)
    demo = serve(run_dir, port=0, block=False, root_path="/thermocad")
    try:
        config = httpx.get(f"http://127.0.0.1:{demo.server_port}/config", timeout=60).json()
    finally:
        demo.close()
    assert config["root"].endswith("/thermocad"), config["root"]


def test_the_score_api_answers_predicts_row_and_a_bad_file_as_an_error(
    run_dir, dmr_files, tmp_path, monkeypatch
):
    """An API review: a script had to scrape P(Sick) from the page's sentence (1.1 MB of figures
    a file), a bad file came back as a success, and the string "false" ticked the box."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from thermocad.inference.app import serve
    from thermocad.inference.predict import predict_paths

    want = predict_paths(run_dir, [dmr_files[0]])[0].iloc[0]
    bad = tmp_path / "T0999.txt"
    bad.write_text("30 31\nabc 32\n")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    demo = serve(run_dir, port=0, block=False)
    client = Client(f"http://127.0.0.1:{demo.server_port}/", verbose=False, download_files=False)
    try:
        row = client.predict(handle_file(str(dmr_files[0])), False, api_name="/score")
        with pytest.raises(AppError, match=r"T0999\.txt: line 2: 'abc' is not a number"):
            client.predict(handle_file(str(bad)), False, api_name="/score")
        for wrong in ("false", 1):  # 1 == True in Python, but no box sends it (a diff review)
            with pytest.raises(AppError, match=f"must be true or false, got {wrong!r}"):
                client.predict(handle_file(str(dmr_files[0])), wrong, api_name="/analyse")
        ids = {f.api_name: f.concurrency_id for f in demo.fns.values()}
        api = client.view_api(print_info=False, return_format="dict")
    finally:
        client.close()
        demo.close()
    assert row["file"] == dmr_files[0].name and row["prob_sick"] == pytest.approx(
        want["prob_sick"], abs=1e-6)  # fmt: skip
    assert (row["decision"], row["threshold"], row["model"]) == (
        want["decision"], want["threshold"], want["model"])  # fmt: skip
    assert {"prob_cnn", "prob_baseline", "model_warning", "patient_id"} <= set(row)
    assert row["note"] == want["note"]  # predict's notes, in predict's order
    # The page's uploads and the API's share the two places (a diff review: four had run)
    assert ids["analyse"] == ids["score"] == "uploads"
    assert sorted(api["named_endpoints"]) == ["/analyse", "/score"]  # the examples' is private
    # gr.File's empty temporary file per request (a soak: 582 in 4 minutes, never swept) is gone
    empty = [
        p.name for p in (tmp_path / "gradio").iterdir() if p.is_file() and not p.stat().st_size
    ]
    assert not empty, empty
    import thermocad  # and no stub of a Gradio component written into the package (a subclass's)

    assert not list(Path(thermocad.__file__).parent.rglob("*.pyi"))
