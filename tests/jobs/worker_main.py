"""A real ``conjure worker`` process with the test kinds: ``python -m tests.jobs.worker_main``.

Settings come from the environment, exactly as for ``conjure worker``.
"""

from __future__ import annotations

from conjure.jobs.worker import run_worker, serve
from conjure.settings import Settings
from tests.jobs.kinds import APP

if __name__ == "__main__":
    serve(run_worker(Settings(_env_file=None), apps=[APP]))
