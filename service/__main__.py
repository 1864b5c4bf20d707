"""The ``seedfeeds`` command, and ``python -m service``.

A build ends holding a heap of a million objects that the interpreter would free one by
one on its way out (0.4 s of a 100,000-article build). By then every file is written,
and the state and the locks are released and closed, so once the output is flushed
the process simply ends.
"""

from __future__ import annotations

import logging
import os
import sys

from service.cli import main


def run() -> None:
    try:
        main()
    except SystemExit as done:
        if sys.argv[1:2] != ["build"]:
            raise
        code = done.code
        if isinstance(code, str):
            print(code, file=sys.stderr)
            code = 1
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)


if __name__ == "__main__":
    run()
