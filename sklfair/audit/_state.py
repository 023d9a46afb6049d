"""The process-wide state an audit touches, each piece put back on exit.

- :func:`limited_threads` -- torch's CPU thread count and the BLAS/OpenMP
  pools (through threadpoolctl) for the length of a run;
- :class:`InterruptWatch` -- the SIGINT (Ctrl-C) handler for the length of a
  run: it records the interrupt before raising :class:`KeyboardInterrupt`,
  so that a library which catches the exception and returns normally (skorch
  does, in its training loop) cannot make the audit go on with a half-trained
  model; with ``defer=True`` it holds the interrupt back until a short
  section that must not be cut in two (moving the report into place) ends;
- :class:`ModelStep` -- one model's measurement in a section of the audit:
  its warnings recorded, an interrupt passed on (also one a library caught
  while the watch saw it), any other failure a note instead of the end of
  the run.

Both restore what they found on return and on error, the interrupt included.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import warnings

from threadpoolctl import threadpool_limits

from ._messages import log, one_line

__all__ = ["InterruptWatch", "ModelStep", "limited_threads"]


@contextlib.contextmanager
def limited_threads(threads, *, torch_too=True):
    """Limit the numeric libraries to ``threads`` threads, then restore them.

    Parameters
    ----------
    threads : int or None
        None changes nothing.
    torch_too : bool, default=True
        Set torch's CPU thread count as well (the BLAS/OpenMP pools are
        always limited).
    """
    if threads is None:
        yield
        return
    before = None
    if torch_too:
        import torch

        before = torch.get_num_threads()
    try:
        if torch_too:
            torch.set_num_threads(int(threads))
        with threadpool_limits(limits=int(threads)):
            yield
    finally:
        if before is not None:
            torch.set_num_threads(before)


class InterruptWatch:
    """Record SIGINT while active, and restore the previous handler on exit.

    Active only in the main thread (the only one Python delivers signals
    to), and only when the previous handler is Python's default (which
    raises :class:`KeyboardInterrupt`) or another watch (they nest): an
    ignored SIGINT or a handler of the application's own is left alone.

    Parameters
    ----------
    defer : bool, default=False
        False: an interrupt raises :class:`KeyboardInterrupt` at once, as
        usual, and is remembered for :meth:`check`. True: it is only
        recorded, and raised when the ``with`` block ends.

    Attributes
    ----------
    interrupted : bool
        Whether SIGINT arrived while active.
    """

    def __init__(self, *, defer=False):
        self.defer = defer
        self.interrupted = False
        self._previous = None
        self._outer = None

    def _handle(self, signum, frame):
        self.interrupted = True
        if not self.defer:
            raise KeyboardInterrupt

    def check(self):
        """Raise :class:`KeyboardInterrupt` if SIGINT arrived while active.

        Call it after any code that may have caught the exception.
        """
        if self.interrupted:
            raise KeyboardInterrupt

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            outer = getattr(previous, "__self__", None)
            if previous is signal.default_int_handler or isinstance(
                outer, InterruptWatch
            ):
                self._previous = previous
                self._outer = outer
                signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, exc_type, exc, traceback):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        if self.interrupted and self._outer is not None:
            self._outer.interrupted = True
        if self.defer and self.interrupted and exc_type is None:
            raise KeyboardInterrupt
        return False


class ModelStep:
    """One model's measurement in an audit section, as a ``with`` block.

    Inside the block every warning is recorded (``caught``). On leaving it,
    an interrupt seen by ``watch`` is raised even if a library caught it; a
    :class:`KeyboardInterrupt` passes on; any other exception becomes the
    note ``"<name>: <failure> (<error>)"`` and a progress line, and the
    block is left with ``failed`` set, so that one model cannot end the run.

    Parameters
    ----------
    name : str
        The model.
    section : str
        The section, for the progress line (``"credit"``).
    failure : str
        What the model gets none of when it fails (``"no credit measurement"``).
    notes : list
        Where a failure becomes a line.
    progress : file or None
        Where progress lines go.
    watch : InterruptWatch or None
        The run's interrupt watch.
    """

    def __init__(self, name, *, section, failure, notes, progress, watch):
        self.name = name
        self.section = section
        self.failure = failure
        self.notes = notes
        self.progress = progress
        self.watch = watch
        self.caught = []
        self.failed = False
        self._recording = None

    def __enter__(self):
        self._recording = warnings.catch_warnings(record=True)
        self.caught = self._recording.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, exc_type, exc, traceback):
        self._recording.__exit__(exc_type, exc, traceback)
        if exc_type is None:
            if self.watch is not None:
                self.watch.check()
            return False
        if not issubclass(exc_type, Exception):  # KeyboardInterrupt among them
            return False
        if self.watch is not None and self.watch.interrupted:
            raise KeyboardInterrupt from exc
        self.notes.append(f"{self.name}: {self.failure} ({one_line(exc)})")
        log(self.progress, f"  {self.section}: {self.name}: FAILED ({one_line(exc)})")
        self.failed = True
        return True
