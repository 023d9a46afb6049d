"""The audit's output folder: all of a report, or nothing.

The report's files are written into a new hidden folder and moved into place
only when every one is complete, so that a failure or an interrupt while
writing leaves no half-written report (and, with ``overwrite``, the previous
report intact):

- when the output folder does not exist, the hidden folder is made next to
  it (``.NAME.partial-XXXXXXXX``) and renamed to it in one step;
- when it exists (empty, or holding a previous audit's output), the hidden
  folder is made inside it (``.partial-XXXXXXXX``) and its files are moved
  up, after the previous audit's files are removed. The folder itself is
  kept: its permissions, a mount point, a shell's working folder.

An existing folder is used only when it is empty. With ``overwrite`` a
folder that holds a previous audit's output -- only the files an audit writes
-- is replaced wholly, so that no stale file of an older run stays beside the
new report; a folder with anything else in it is refused, so that a mistyped
``--out`` cannot delete other work.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path

from sklfair.exceptions import AuditError

from ._state import InterruptWatch

__all__ = ["check_output_folder", "staged_folder"]

# The files an audit writes, and files that file browsers add to a folder.
_AUDIT_FILE = re.compile(
    r"report\.html|(results|predictions|credit|privacy)\.csv|pareto\.png"
    r"|(groups|calibration|approval)_[a-z0-9_]*\.png"
)
_BROWSER_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}
# A staging folder left inside the output folder by a killed run.
_STAGING = re.compile(r"\.partial-[0-9a-f]{8}")


def _written_by_an_audit(entry):
    if entry.is_dir() and not entry.is_symlink():
        return bool(_STAGING.fullmatch(entry.name))
    return bool(_AUDIT_FILE.fullmatch(entry.name)) or entry.name in _BROWSER_FILES


def _foreign_entries(folder):
    """Entries of ``folder`` that an audit did not write."""
    return sorted(
        entry.name + ("/" if entry.is_dir() else "")
        for entry in folder.iterdir()
        if not _written_by_an_audit(entry)
    )


def check_output_folder(out, *, overwrite=False, ignore=None):
    """Raise :class:`~sklfair.exceptions.AuditError` if ``out`` cannot take a report.

    Parameters
    ----------
    out : str or path
        The folder the report goes to: absent, empty, or (with
        ``overwrite``) holding only a previous audit's files.
    overwrite : bool, default=False
        Allow replacing a previous audit's output.
    ignore : path, default=None
        An entry of ``out`` not to count (the staging folder).

    Returns
    -------
    pathlib.Path
        ``out`` as a path.
    """
    out = Path(out)
    shown = repr(str(out))
    if out.exists() and not out.is_dir():
        raise AuditError(f"the output folder {shown} is a file")
    if out.is_dir():
        entries = [entry for entry in out.iterdir() if entry != ignore]
        if entries and not overwrite:
            raise AuditError(
                f"the output folder {shown} is not empty ({len(entries)} entries); "
                "pass --overwrite to replace it wholly, or choose another --out"
            )
        if entries:
            foreign = _foreign_entries(out)
            if foreign:
                listed = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
                raise AuditError(
                    f"--overwrite replaces only a previous audit's output, and "
                    f"{shown} holds other entries ({listed}); remove them or "
                    "choose another --out"
                )
    # The report is staged inside an existing folder, else beside it.
    where = out if out.is_dir() else _existing_ancestor(out.absolute().parent)
    if not os.access(where, os.W_OK | os.X_OK):
        raise AuditError(
            f"cannot write the output folder {shown}: {str(where)!r} is not writable"
        )
    return out


def _existing_ancestor(path):
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _new_folder(parent, name):
    """A new, empty folder ``parent/name-XXXXXXXX``, created here."""
    while True:
        path = parent / f"{name}-{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path


def _remove(entry):
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()


def _move_into_place(staging, out, *, overwrite):
    """Make the files of ``staging`` the content of ``out``; Ctrl-C waits."""
    check_output_folder(out, overwrite=overwrite, ignore=staging)
    with InterruptWatch(defer=True):
        if not out.is_dir():
            os.rename(staging, out)
            return
        for entry in list(out.iterdir()):
            if entry != staging:
                _remove(entry)
        for entry in list(staging.iterdir()):
            os.rename(entry, out / entry.name)
        staging.rmdir()


@contextlib.contextmanager
def staged_folder(out, *, overwrite=False):
    """Yield an empty folder to write into; on success its files go to ``out``.

    The folder is new: next to ``out`` when ``out`` does not exist, inside
    it otherwise. When the ``with`` block ends normally its files become the
    content of ``out`` (replacing a previous audit's output when
    ``overwrite``); when it raises -- an error or
    :class:`KeyboardInterrupt` -- the folder is removed and ``out`` is left
    as it was.

    Parameters
    ----------
    out : str or path
    overwrite : bool, default=False

    Yields
    ------
    pathlib.Path
        The staging folder.
    """
    out = check_output_folder(out, overwrite=overwrite).absolute()
    try:
        if out.is_dir():
            staging = _new_folder(out, ".partial")
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            staging = _new_folder(out.parent, f".{out.name}.partial")
    except OSError as exc:
        raise AuditError(
            f"cannot create the output folder {str(out)!r}: {exc}"
        ) from None
    try:
        yield staging
        _move_into_place(staging, out, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
