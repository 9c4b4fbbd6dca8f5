"""Signals for the tests that interrupt a real ``research-lab`` process."""

import signal


def ctrl_c_as_at_a_terminal() -> None:
    """``preexec_fn`` giving the child SIGINT's default disposition, as a terminal's Ctrl-C
    finds it: a suite started in the background by a non-interactive shell (``cmd &``) runs
    with SIGINT ignored, a child inherits that, and Python then installs no KeyboardInterrupt
    handler, so the interrupt under test would never arrive."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
