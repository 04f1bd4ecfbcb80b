"""A web-app request's own copy of Gradio's upload, for the page (answer.py) and the API
(score.py) alike."""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from thermocad.io.find import READABLE_SUFFIXES
from thermocad.utils.errors import ThermalFormatError

MAX_UPLOAD_MB = 20
ALLOWED_SUFFIXES = READABLE_SUFFIXES  # one list in thermocad.io.find, shared with predict


def check_upload(path: Path) -> None:
    """Refuse files with an unknown type or over the size limit before parsing them."""
    name = path.name.lower()
    if not name.endswith(ALLOWED_SUFFIXES):
        kinds = ", ".join(ALLOWED_SUFFIXES)
        raise ThermalFormatError(f"{path.name}: unsupported file type; upload one of {kinds}")
    size_mb = path.stat().st_size / 2**20  # MiB, as Gradio's "mb" (serve gives it ours)
    if size_mb > MAX_UPLOAD_MB:
        # Rounded up: a size just over the limit never reads as the limit (20.03, not 20.0).
        shown = math.ceil(size_mb * 100) / 100
        raise ThermalFormatError(
            f"{path.name}: {shown:.2f} MiB is over the {MAX_UPLOAD_MB:g} MiB limit"
        )


def private_upload_folder() -> Path:
    """Gradio's upload folder: GRADIO_TEMP_DIR where it is set, else one of this user's own
    (mode 0700), set in GRADIO_TEMP_DIR before Gradio is imported (some of its modules read it
    then). Gradio's own /tmp/gradio is the first user's to serve on a machine: a second user's
    uploads failed there, and every user could read them (patient data). On Windows, whose
    temporary folder is each user's own, Gradio's."""
    if given := os.environ.get("GRADIO_TEMP_DIR"):
        try:  # said before the app is built, in the variable's name (not Gradio's later words)
            Path(given).mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=given).close()
        except OSError as exc:
            from thermocad.utils.errors import OutputPathError

            raise OutputPathError(f"GRADIO_TEMP_DIR={given}: uploads cannot be kept there "
                                  f"({exc.strerror or exc}); set it to a folder this user can "
                                  "write, or unset it for a private one") from None  # fmt: skip
        return Path(given)
    if not hasattr(os, "getuid"):  # Windows
        return Path(tempfile.gettempdir()) / "gradio"
    folder = Path(tempfile.gettempdir()) / f"thermocad-gradio-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        folder = Path(tempfile.mkdtemp(prefix="thermocad-gradio-"))  # a link, or not private
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # made for this process
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def read_upload(path: Path, unit: str, allow_unit_mismatch: bool = False):
    """The thermogram in an upload (its type and size checked first), refused unless its unit
    is the model's `unit` (or allowed) and it is plausibly a breast thermogram: the page's and
    the API's one sequence of checks. Read without the parse cache: an upload's parse must not
    outlive it on disk."""
    from thermocad.inference.predict import check_unit
    from thermocad.io.thermal import read_thermal
    from thermocad.preprocess.plausible import check_plausible

    check_upload(path)
    thermogram = read_thermal(path, cache=False)
    check_unit(thermogram, unit, allow_unit_mismatch)
    check_plausible(thermogram)
    return thermogram


@contextlib.contextmanager
def private_copy(upload: Path) -> Iterator[Path]:
    """A copy of the upload at `upload` in a private temporary folder, removed after: the file is
    Gradio's (identical uploads, and an example's bytes, share one path in its cache), so it is
    only ever read. Its type and size are checked first: an oversized file is never copied."""
    with tempfile.TemporaryDirectory(prefix="thermocad-request-") as private:
        copy = Path(private) / upload.name
        check_upload(upload)
        shutil.copyfile(upload, copy)
        yield copy


def unforeseen(name: str, exc: Exception) -> str:
    """What the page and the API say of an error no check foresaw (a bug, or a file unlike any
    the checks know): not the file's fault for certain, and its traceback is the server's."""
    return (f"{name} could not be analysed because of an unexpected error in thermocad "
            f"({type(exc).__name__}). Please tell whoever runs this app the file's name and "
            "the time; the details are in the app's log")  # fmt: skip


def in_users_words(exc: BaseException, upload: Path, copy: Path | None) -> str:
    """`exc`'s message with the server's paths of the upload and of its copy (None: not made)
    replaced by the name the user uploaded: they mean nothing to the user."""
    words = str(exc) if copy is None else str(exc).replace(str(copy), upload.name)
    return words.replace(str(upload), upload.name)


def upload_box(**kwargs):
    """Gradio's gr.File for one thermogram, given to the handlers as a path, without the empty
    temporary file that Gradio 6's gr.File leaves in its cache per request (it makes one with
    delete=False and discards its name): a soak of /score had left 582 of them in 4 minutes,
    never swept. Set on the instance: a subclass of a Gradio component writes a .pyi stub
    beside the module that defines it (Gradio's ComponentMeta), here into thermocad's source."""
    import types

    import gradio as gr
    from gradio.utils import NamedString

    box = gr.File(type="filepath", **kwargs)
    gradios = box._process_single_file

    def process_single_file(self, f):
        if self.type == "filepath" and not self.file_types:
            return NamedString(f.path)  # what Gradio's returns, without the empty file
        return gradios(f)

    box._process_single_file = types.MethodType(process_single_file, box)
    return box
