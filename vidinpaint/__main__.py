"""``python -m vidinpaint`` and the ``vidinpaint`` command. Ctrl-C while the command line loads
(its imports take a second or so) is one line and exit 130, as it is later, not a traceback and
a death by signal. An OSError the user causes, in any command (a name too long for the file system,
a full disk under what it writes), is one line too (:func:`~vidinpaint.errors.user_message`)."""

import sys


def run() -> None:
    try:
        from .cli import app
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted by SIGINT; nothing was written\n")
        sys.exit(130)
    try:
        app(prog_name="vidinpaint")
    except OSError as error:  # one the user causes (a name too long, a full disk): one line; any other is a bug
        from .errors import user_message

        message = user_message(error)
        if message is None:
            raise
        sys.stderr.write(f"error: {message}\n")
        sys.stdout = None  # what it could not write stays unwritten; no second error at exit
        sys.exit(1)


if __name__ == "__main__":
    run()
