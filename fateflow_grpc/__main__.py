"""`python -m fateflow_grpc` is `fateflow`.

Nodes start their children this way: the worker pool's forkserver re-imports the main module,
and `-m fateflow_grpc.cli` would import `cli` twice (runpy warns of it).
"""

from fateflow_grpc.cli import main

if __name__ == "__main__":
    main()
