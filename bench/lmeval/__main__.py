"""``python -m bench.lmeval ...``: lm-eval's command line with gptoss-tt and gptoss-ref registered
and the shipped offline tasks (``suites/tasks``) on the include path, offline."""

import sys

from ground.settings import go_offline


def main() -> None:
    go_offline()  # before lm-eval imports datasets, which reads HF_DATASETS_OFFLINE once
    import bench.lmeval
    from lm_eval.__main__ import cli_evaluate

    argv = sys.argv[1:]
    if not any(a.startswith("--include_path") for a in argv):
        argv += ["--include_path", str(bench.lmeval.TASKS_DIR)]
    sys.argv = [sys.argv[0], *argv]
    cli_evaluate()


if __name__ == "__main__":
    main()
