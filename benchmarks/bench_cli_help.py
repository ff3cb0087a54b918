"""How long `backpain --help` and each subcommand's `--help` take (target < 0.3 s).

Each command runs in a fresh interpreter, as a user's shell would, ``--runs`` times
(default 7); the median is reported beside the median of a bare ``python -c pass``
measured in the same run (the interpreter's own start-up, which no change to the CLI
can remove) and of ``python -c "import pandas"`` (what the help used to pay for).

    python benchmarks/bench_cli_help.py [--runs 7]

The machine is shared: the load average is printed, with the CPU time (user +
system) of each run, which waiting for a core does not inflate as it does the wall time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = [[], ["init"], ["validate"], ["simulate"], ["score"], ["describe"], ["fit"],
            ["report"], ["datasets"], ["datasets", "list"]]
TARGET = 0.3


def median_seconds(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall-clock and median CPU (user + system) seconds of ``argv``."""
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores,"
          f" load average {os.getloadavg()[0]:.2f}; medians of {args.runs} runs")
    print(f"{'':<34}{'wall':>8}  {'cpu':>8}")
    bare, bare_cpu = median_seconds([sys.executable, "-c", "pass"], args.runs)
    print(f"{'python -c pass (baseline)':<34}{bare:8.3f}  {bare_cpu:8.3f}")
    label = 'python -c "import pandas"'
    print(f"{label:<34}" + "{:8.3f}  {:8.3f}".format(*median_seconds(
        [sys.executable, "-c", "import pandas"], args.runs)))
    worst = worst_cpu = 0.0
    for command in COMMANDS:
        argv = [sys.executable, "-m", "analysis.cli", *command, "--help"]
        seconds, cpu = median_seconds(argv, args.runs)
        worst, worst_cpu = max(worst, seconds), max(worst_cpu, cpu)
        name = " ".join(["backpain", *command, "--help"])
        print(f"{name:<34}{seconds:8.3f}  {cpu:8.3f}   wall {seconds / bare:5.1f} x baseline")
    verdict = "met" if worst < TARGET else "missed"
    print(f"slowest --help: wall {worst:.3f} s (target < {TARGET} s: {verdict}), "
          f"cpu {worst_cpu:.3f} s")


if __name__ == "__main__":
    main()
