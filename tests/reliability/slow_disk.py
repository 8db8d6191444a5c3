"""`wm` on a slow disk: ``python slow_disk.py SECONDS wm-args...``.

Every ``os.fsync`` first waits SECONDS, so each atomic write keeps its temporary file (and each
rename its not yet durable state) long enough for a test to SIGKILL the process right there.
Kept free of pytest imports.
"""

from __future__ import annotations

import os
import sys
import time


def slow_fsync(seconds: float) -> None:
    """Make this process's fsyncs take ``seconds`` longer, as on a slow or busy disk."""
    real = os.fsync

    def fsync(fd: int) -> None:
        time.sleep(seconds)
        real(fd)

    os.fsync = fsync


if __name__ == "__main__":
    from wm.cli.app import main

    slow_fsync(float(sys.argv[1]))
    sys.argv = ["wm", *sys.argv[2:]]
    main()
