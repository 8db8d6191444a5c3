"""The one exception type that reaches users as a single red line."""

from __future__ import annotations


class WMError(Exception):
    """A user error: bad input, a missing file, a config that does not fit.

    The message is one line naming the file or field, what was found and what was
    expected. The CLI prints it without a traceback and exits with code 2.
    """
