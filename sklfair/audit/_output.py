"""The audit's output folder: all of a report, or nothing.

The report is written into a hidden folder next to the target
(``.NAME.partial-XXXXXXXX``) and moved into place only when every file is
complete, so that a failure or an interrupt while writing leaves no
half-written folder (and, with ``overwrite``, the previous report intact).

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
    r"report\.html|results\.csv|predictions\.csv|pareto\.png|groups_[a-z0-9_]*\.png"
)
_BROWSER_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}


def _foreign_entries(folder):
    """Entries of ``folder`` that an audit did not write."""
    return sorted(
        entry.name + ("/" if entry.is_dir() else "")
        for entry in folder.iterdir()
        if entry.is_dir()
        or not (_AUDIT_FILE.fullmatch(entry.name) or entry.name in _BROWSER_FILES)
    )


def check_output_folder(out, *, overwrite=False):
    """Raise :class:`~sklfair.exceptions.AuditError` if ``out`` cannot take a report.

    Parameters
    ----------
    out : str or path
        The folder the report goes to: absent, empty, or (with
        ``overwrite``) holding only a previous audit's files.
    overwrite : bool, default=False
        Allow replacing a previous audit's output.

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
        entries = list(out.iterdir())
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
            if Path.cwd().resolve().is_relative_to(out.resolve()):
                raise AuditError(
                    f"--overwrite cannot replace {shown}: it holds the current "
                    "working folder"
                )
    parent = _existing_ancestor(out.absolute().parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise AuditError(
            f"cannot write the output folder {shown}: {str(parent)!r} is not writable"
        )
    return out


def _existing_ancestor(path):
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _sibling(out, kind):
    """A new, empty folder next to ``out`` (same file system), created here."""
    while True:
        path = out.parent / f".{out.name}.{kind}-{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path


def _move_into_place(staging, out, *, overwrite):
    check_output_folder(out, overwrite=overwrite)
    target = out.resolve() if out.is_symlink() else out
    with InterruptWatch(defer=True):
        if not target.is_dir():
            os.rename(staging, target)
            return
        if not any(target.iterdir()):
            target.rmdir()
            os.rename(staging, target)
            return
        previous = _sibling(target, "old")
        previous.rmdir()
        os.rename(target, previous)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(previous, target)
            raise
        shutil.rmtree(previous, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(out, *, overwrite=False):
    """Yield an empty folder to write into; on success it becomes ``out``.

    The folder is created next to ``out``. When the ``with`` block ends
    normally it is moved into place (replacing a previous audit's output
    when ``overwrite``); when it raises -- an error or
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
    out = check_output_folder(out, overwrite=overwrite)
    try:
        out.absolute().parent.mkdir(parents=True, exist_ok=True)
        staging = _sibling(out.absolute(), "partial")
    except OSError as exc:
        raise AuditError(
            f"cannot create the output folder {str(out)!r}: {exc}"
        ) from None
    try:
        yield staging
        _move_into_place(staging, out.absolute(), overwrite=overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
