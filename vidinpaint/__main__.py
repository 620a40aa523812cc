"""``python -m vidinpaint`` and the ``vidinpaint`` command. Ctrl-C while the command line loads
(its imports take a second or so) is one line and exit 130, as it is later, not a traceback and
a death by signal; a full disk under what it prints is one line too."""

import sys


def run() -> None:
    try:
        from .cli import app
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted by SIGINT; nothing was written\n")
        sys.exit(130)
    try:
        app(prog_name="vidinpaint")
    except OSError as error:  # stdout on a full disk (> /dev/full): one line, as within a command
        from .errors import user_message

        if user_message(error) is None:
            raise
        sys.stderr.write(f"error: {user_message(error)}\n")
        sys.stdout = None  # what it could not write stays unwritten; no second error at exit
        sys.exit(1)


if __name__ == "__main__":
    run()
