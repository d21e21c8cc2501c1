"""The one exception type that means "the user asked for something wrong"."""


class UserError(Exception):
    """Bad input from the user: the CLI prints the message on one line and exits 2.

    The message names the bad value and what was expected, e.g.
    ``--mesh '3x'`` is not a mesh shape; expected ROWSxCOLS such as 1x8 or 4x8``.
    """


class ThresholdFailure(Exception):
    """A run finished but a suite threshold did not hold: exit 1."""
