"""How the audit talks: one-line messages and progress lines.

The audit runs from a command line, so every problem it reports -- an
exception from a model, a warning caught during a fit -- is shortened to one
line, and progress lines go to a text stream (stderr by default) or nowhere.
"""

from __future__ import annotations

__all__ = ["log", "one_line", "unique_warnings"]


def one_line(exc):
    """``"ErrorClass: first line of the message"`` for an exception."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def unique_warnings(caught, limit=240):
    """First lines of the caught warnings, each once, shortened to ``limit``."""
    seen = []
    for item in caught:
        lines = str(item.message).strip().splitlines()
        text = f"{item.category.__name__}: {lines[0] if lines else ''}"
        text = text if len(text) <= limit else text[: limit - 3] + "..."
        if text not in seen:
            seen.append(text)
    return seen


def log(stream, message):
    """Print ``message`` to ``stream`` (flushed); nothing when it is None."""
    if stream is not None:
        print(message, file=stream, flush=True)
