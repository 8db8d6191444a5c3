"""The one exception type that reaches users as a single red line."""

from __future__ import annotations


class WMError(Exception):
    """A user error: bad input, a missing file, a config that does not fit.

    The message is one line naming the file or field, what was found and what was
    expected. The CLI prints it without a traceback and exits with code 1.
    """


class UsageError(WMError):
    """A command called in a way it does not accept (a flag value it refuses): the CLI exits with
    code 2, as for a flag it cannot parse."""


class ConfigError(UsageError):
    """A config given on the command line that does not fit the schema: an unknown key, a value of
    the wrong type, a ``key=value`` override that does not parse, a preset that is missing or malformed."""
