"""Where the web app's uploads are kept: a folder of the serving user's own."""

from __future__ import annotations

import os
import tempfile

from thermocad.inference.uploads import private_upload_folder


def test_uploads_go_to_a_folder_of_the_users_own(tmp_path, monkeypatch):
    # Gradio's /tmp/gradio belonged to the first user to serve (a second one's uploads failed)
    # and every user could read it.
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = private_upload_folder()
    assert folder == tmp_path / f"thermocad-gradio-{os.getuid()}"
    assert folder.stat().st_mode & 0o777 == 0o700 and os.environ["GRADIO_TEMP_DIR"] == str(folder)
    assert private_upload_folder() == folder  # the next serve uses it again


def test_a_folder_others_can_read_is_not_used(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / f"thermocad-gradio-{os.getuid()}").mkdir(mode=0o755)
    os.chmod(tmp_path / f"thermocad-gradio-{os.getuid()}", 0o755)
    folder = private_upload_folder()
    assert folder.parent == tmp_path and folder.name != f"thermocad-gradio-{os.getuid()}"
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_folder_given_is_used_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    assert private_upload_folder() == tmp_path / "uploads"


def test_a_folder_given_that_cannot_be_written_is_said_in_the_variables_name(tmp_path, monkeypatch):
    """An environment review: Gradio failed later, after the examples were drawn, with
    `/nonexistent: Permission denied`."""
    import pytest

    from thermocad.utils.errors import OutputPathError

    (tmp_path / "a file").write_text("")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "a file" / "uploads"))
    with pytest.raises(OutputPathError, match=r"^GRADIO_TEMP_DIR=.*uploads cannot be kept there"):
        private_upload_folder()
