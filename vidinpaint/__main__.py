"""``python -m vidinpaint`` and the ``vidinpaint`` command. Ctrl-C while the command line loads
(its imports take a second or so) is one line and exit 130, as it is later, not a traceback and
a death by signal."""

import sys


def run() -> None:
    try:
        from .cli import app
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted by SIGINT; nothing was written\n")
        sys.exit(130)
    app(prog_name="vidinpaint")


if __name__ == "__main__":
    run()
