"""The in-process measurements of one size, each in a fresh process (``inproc.py``): every
store engine's load time, memory growth and query mix, SHACL validation, OWL RL reasoning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from run_common import BENCH, DISK, human, say, validators
from run_options import Options
from run_report import SizeReport
from run_targets import remote_store
from servers import Child, Children, die_with_parent, tree_memory


def measure_child(
    children: Children,
    name: str,
    argv: list[str],
    timeout: float,
    work: Path,
    env: dict[str, str] | None = None,
) -> dict[str, Any] | str:
    """Run a measuring child to the end: its JSON on stdout, or why there is none."""
    out = work / f"{name}.out"
    err = work / f"{name}.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            argv,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        child = Child(name, process, err)
        children.children.append(child)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            children.stop(child)
            return f"stopped after {timeout:.0f} s (--timeout)"
        children.stop(child)
    if process.returncode != 0:
        return f"failed (exit {process.returncode}): {child.tail(1)[:200]}"
    try:
        return json.loads(out.read_text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "failed: no result"


def inproc_argv(task: str, *args: str) -> list[str]:
    """The command of a measuring child running ``inproc.py`` for ``task``."""
    return [sys.executable, str(BENCH / "inproc.py"), task, *args]


def bench_inproc(
    report: SizeReport, root: Path, opts: Options, children: Children, work: Path
) -> None:
    """Measure the engines, validation and reasoning on the project at ``root``."""
    bench_engines(report, root, opts, children, work)
    bench_validation(report, root, opts, children, work)
    bench_reasoning(report, root, opts, children, work)


def bench_engines(
    report: SizeReport, root: Path, opts: Options, children: Children, work: Path
) -> None:
    """Each engine's load, memory and query mix (the remote one with its Oxigraph server)."""
    word = report.summary["search_word"]
    for engine in opts.engines:
        if engine == "rdflib" and report.triples > opts.rdflib_max:
            report.inproc[engine] = {
                "skipped": f"skipped (> {human(opts.rdflib_max)}, --rdflib-max)"
            }
            continue
        say(f"[{report.label}] in process: {engine}")
        argv = inproc_argv("engine", engine, str(root), "--repeat", str(opts.repeat))
        argv += ["--word", word]
        if engine == DISK:
            store = work / f"store-{report.label}"
            shutil.rmtree(store, ignore_errors=True)
            argv += ["--store-dir", str(store)]
        with remote_store(engine, children, work, opts) as (env, companion):
            result = measure_child(children, f"inproc-{engine}", argv, opts.timeout, work, env)
            if isinstance(result, dict) and companion is not None:
                result["store_pss"] = tree_memory(companion.pid).pss
        report.inproc[engine] = result if isinstance(result, dict) else {"skipped": result}


def bench_validation(
    report: SizeReport, root: Path, opts: Options, children: Children, work: Path
) -> None:
    """Validation by each SHACL engine, or why it is skipped."""
    if not opts.validate:
        report.validate = "skipped (--no-validate)"
    elif report.triples > opts.validate_max:
        report.validate = f"skipped (> {human(opts.validate_max)}, --validate-max)"
    else:
        report.validate = {}
        for validator in validators()[0]:
            say(f"[{report.label}] validating ({validator})")
            argv = inproc_argv("validate", str(root), "--validator", validator)
            report.validate[validator] = measure_child(
                children, f"validate-{validator}", argv, opts.timeout, work
            )


def bench_reasoning(
    report: SizeReport, root: Path, opts: Options, children: Children, work: Path
) -> None:
    """Reasoning with each reasoner (owlrl only up to --reason-max), or why it is skipped."""
    if not opts.reason:
        report.reason = "skipped (--no-reason)"
        return
    report.reason = {}
    for reasoner in ("rules", "owlrl"):
        if reasoner == "owlrl" and report.triples > opts.reason_max:
            report.reason[reasoner] = f"skipped (> {human(opts.reason_max)}, --reason-max)"
            continue
        say(f"[{report.label}] reasoning ({reasoner})")
        argv = inproc_argv("reason", str(root), "--reasoner", reasoner)
        report.reason[reasoner] = measure_child(
            children, f"reason-{reasoner}", argv, opts.timeout, work
        )
