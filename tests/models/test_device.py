"""--device: auto | cpu | cuda | cuda:N, checked before any loading, with clear errors."""

from __future__ import annotations

import pytest

from thermocad.cli import main
from thermocad.models.device import onnx_providers, parse_device, torch_device
from thermocad.utils.errors import ConfigError


def test_parse_device():
    assert parse_device("auto") == ("auto", None)
    assert parse_device("CPU") == ("cpu", None)
    assert parse_device("cuda") == ("cuda", None)
    assert parse_device("cuda:1") == ("cuda", 1)
    for bad in ("gpu", "cuda:", "cuda:x", "mps0", ""):
        with pytest.raises(ConfigError, match="expected auto"):
            parse_device(bad)


def test_torch_device_cpu_and_missing_gpu():
    torch = pytest.importorskip("torch")
    assert torch_device("cpu") == torch.device("cpu")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert torch_device("auto").type == ("cuda" if count else "cpu")
    with pytest.raises(ConfigError, match="cuda:99"):
        torch_device("cuda:99")
    if not count:
        with pytest.raises(ConfigError, match="no CUDA GPU is available here"):
            torch_device("cuda")


def test_onnx_providers():
    import onnxruntime as ort

    assert onnx_providers("cpu") == ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert onnx_providers("auto") == ["CPUExecutionProvider"]
        with pytest.raises(ConfigError, match="no CUDA provider"):
            onnx_providers("cuda:0")


def test_predict_device_option(run_dir, dmr_files, tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert (
        main(["predict", str(run_dir), str(dmr_files[0]), "--out", str(out), "--device", "cpu"])
        == 0
    )
    assert out.exists()
    capsys.readouterr()
    code = main(["predict", str(run_dir), str(dmr_files[0]), "--out", str(tmp_path / "q.csv"),
                 "--device", "cuda:99"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--device cuda:99" in err and len(err.strip().splitlines()) == 1
    assert main(["explain", str(run_dir), str(dmr_files[0]), "--out", str(tmp_path),
                 "--device", "tpu"]) == 2  # fmt: skip
    assert "expected auto" in capsys.readouterr().err


@pytest.mark.slow
def test_explain_on_cpu(run_dir, dmr_files, tmp_path):
    assert main(["explain", str(run_dir), str(dmr_files[0]), "--out", str(tmp_path),
                 "--device", "cpu"]) == 0  # fmt: skip
    assert (tmp_path / f"{dmr_files[0].stem}_gradcam.png").read_bytes()[:4] == b"\x89PNG"
