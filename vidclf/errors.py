"""The one exception type that reaches the user as a single line.

Anything the user can fix (a missing file, a bad config value, an unreachable URL) is raised
as :class:`VidclfError` with a message that names the thing to fix; the command-line entry
points print ``error: <message>`` and exit with status 2 instead of a traceback.
"""


class VidclfError(Exception):
    """A user-facing error: the message alone must tell the user what to fix."""
