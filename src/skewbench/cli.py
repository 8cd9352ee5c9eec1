"""The ``skewbench`` command: run, evaluate, report, validate, datasets, profile, components,
describe, metrics."""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
from pathlib import Path
from typing import Any

from skewbench.errors import ConfigError, Interrupted, SkewbenchError, environment_problem


def _cmd_run(args: argparse.Namespace) -> int:
    if args.quiet:  # children inherit it: the prepare step and workers stay quiet too
        from skewbench.progress import QUIET_ENV

        os.environ[QUIET_ENV] = "1"
    from skewbench.runner.config import load_config
    from skewbench.runner.run import run_config

    config = load_config(args.config)
    output = Path(args.output) if args.output else config.output_dir()
    summary = run_config(
        config,
        output,
        workers=args.workers,
        executor=args.executor,
        max_cells=args.max_cells,
        progress=not args.quiet,
        wait=args.wait,
    )
    print(
        f"{summary.total} cells: {summary.skipped} already finished, {summary.finished} run now, "
        f"{summary.failed} failed; results in {output}"
    )
    if not args.no_report:
        from skewbench.report.stamp import is_current

        if is_current(output, config.sesoi):  # a finished config run again: leave it as it is
            from skewbench.progress import note

            note("report: up to date (no cell finished or failed since it was written)")
            md, page = output / "report" / "report.md", output / "report" / "report.html"
        else:
            from skewbench.report.build import build_report

            md, page = build_report(output, sesoi=config.sesoi)
        print(f"report: {md} and {page}")
    return 1 if summary.failed else 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from collections import Counter

    from skewbench.runner.config import load_config
    from skewbench.runner.grid import check_data, expand
    from skewbench.runner.output import check_output

    config = load_config(args.config)
    cells = expand(config)  # every config and parameter problem first, before data is read
    check_output(
        Path(args.output) if args.output else config.output_dir(), config.name, config.seed
    )
    if config.executor == "ray" and config.ray_address is not None:
        from skewbench.runner.executors import probe_address

        probe_address(config.ray_address)
    if not args.no_data:
        check_data(cells)
    print(f"{args.config}: valid; {len(cells)} cells")
    for task, n in sorted(Counter(c.task for c in cells).items()):
        print(f"  {task}: {n}")
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    from skewbench.data.sources import cache_dir
    from skewbench.runner.caches import clear_caches, verify_caches

    root = cache_dir()
    lines = verify_caches(root) if args.action == "verify" else clear_caches(root)
    print(f"cache {root}:")
    for line in lines:
        print(f"  {line}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    if args.quiet:
        from skewbench.progress import QUIET_ENV

        os.environ[QUIET_ENV] = "1"
    from skewbench.report.build import build_report

    target, sesoi = Path(args.target), None
    if target.suffix in (".yaml", ".yml"):
        from skewbench.runner.config import load_config

        config = load_config(target)
        target, sesoi = config.output_dir(), config.sesoi
    md, page = build_report(target, sesoi=sesoi)
    print(f"report: {md} and {page}")
    return 0


def _cmd_salvage(args: argparse.Namespace) -> int:
    from skewbench.runner.store import salvage

    copied, lost = salvage(args.store, args.output)
    print(
        f"copied {copied} finished cells into {args.output}; {lost} could not be read. "
        f"Run with --output {args.output} to compute the rest."
    )
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from skewbench.report.compare import compare_runs, format_comparison

    a, b = Path(args.run_a), Path(args.run_b)
    res = compare_runs(a, b, args.metric or None)
    print(format_comparison(res, f"A={a.name}", f"B={b.name}"))
    if args.csv:
        res.to_csv(args.csv, index=False)
        print(f"written: {args.csv}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from skewbench.evaluation.api import evaluate

    tidy = evaluate(
        args.qrels,
        args.run,
        task=args.task,
        items=args.items,
        groups=args.group or (),
        train=args.train,
        users=args.users,
        k=args.k,
        labels=args.labels,
        predictions=args.predictions,
        output=args.output,
        report=not args.no_report,
    )
    n_runs = tidy["model"].nunique()
    where = Path(args.output) / "report" / "report.html"
    print(
        f"{n_runs} runs scored; results in {args.output}"
        + ("" if args.no_report else f"; report: {where}")
    )
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from skewbench.errors import ConfigError
    from skewbench.report.plan import OBSERVED, format_plan, plan

    delta: dict[str, float | str] = {}  # metric → |Δ| or OBSERVED; "" → every metric
    for text in args.delta or []:
        name, _, value = text.rpartition("=")
        if value == OBSERVED:
            delta[name] = OBSERVED
            continue
        try:
            v = float(value)
        except ValueError:
            v = math.nan
        if not v > 0 or math.isinf(v):
            raise ConfigError(
                f"--delta: expected a positive number, {OBSERVED!r}, METRIC=NUMBER or "
                f"METRIC={OBSERVED}, got {text!r}"
            )
        delta[name] = v
    if not 0 < args.power < 1:
        raise ConfigError(f"--power: must be in (0, 1), got {args.power}")
    res = plan(Path(args.results), delta, power=args.power, versus=args.versus)
    print(format_plan(res, power=args.power))
    if args.csv:
        res.to_csv(args.csv, index=False)
        print(f"written: {args.csv}")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from skewbench.data.cli_support import datasets_table

    print(datasets_table())
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from skewbench.data.cli_support import profile_command

    for name, params, output in _profile_targets(args):
        print(profile_command(name, args.by, output, args.rule, params))
    return 0


def _profile_targets(args: argparse.Namespace) -> list[tuple[str, dict[str, Any], Path]]:
    """(data set, its parameters with the spec's defaults, output folder) per data set to
    profile: the one named with its ``--param``s, or every data set of a config file."""
    import yaml

    from skewbench.runner.config import load_config
    from skewbench.specs import find, param_errors, raise_errors
    from skewbench.specs.base import defaults

    def resolved(task: str | None, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Interaction data sets get their recommend spec's defaults (e.g. min_rating)."""
        entry = find("dataset", "recommend", name)
        if entry is None or name == "table" or task not in (None, "recommend"):
            return params
        raise_errors(param_errors(entry, params, "dataset.params"))
        return {**defaults(entry.spec), **params}

    if args.name.endswith((".yaml", ".yml")):
        config = load_config(args.name)
        out = Path(args.output) if args.output else config.output_dir() / "profile"
        return [
            (ds.name, resolved(exp.task, ds.name, dict(ds.params)), out)
            for exp in config.experiments
            for spec in exp.datasets
            for ds in spec.expand()
        ]
    params = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--param {item!r}: write key=value (a YAML value)")
        params[key] = yaml.safe_load(value)
    out = Path(args.output) if args.output else Path("results") / "profile"
    name = args.name
    return [(name, params if ":" in name else resolved(None, name, params), out)]


def _cmd_explain(args: argparse.Namespace) -> int:
    from skewbench.explain.lists import explain_command

    print(explain_command(Path(args.results), args.cell, args.user, args.query, args.top))
    return 0


def _cmd_components(args: argparse.Namespace) -> int:
    from skewbench.specs import components_text, page_with_component_tables

    if args.update_doc:
        path = Path(args.update_doc)
        text = page_with_component_tables(path.read_text(encoding="utf-8"))
        path.write_text(text, encoding="utf-8")
        print(f"component tables written into {path}")
    else:
        print(components_text())
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    from skewbench.specs import describe

    print(describe(args.name))
    return 0


METRIC_MARKERS = ("<!-- metrics:start -->", "<!-- metrics:end -->")


def page_with_metric_table(text: str) -> str:
    """``text`` with the generated metric table between a docs page's metric markers."""
    from skewbench.doc_sections import replace_between
    from skewbench.metrics.registry import metric_table_markdown

    return replace_between(text, METRIC_MARKERS, metric_table_markdown())


def _cmd_metrics(args: argparse.Namespace) -> int:
    import shutil

    from skewbench.metrics.registry import metric_table_markdown, metric_table_text

    if args.update_doc:
        path = Path(args.update_doc)
        path.write_text(page_with_metric_table(path.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"metric table written into {path}")
    elif args.markdown:
        print(metric_table_markdown())
    else:
        print(metric_table_text(shutil.get_terminal_size((100, 24)).columns))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skewbench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run a config's grid (resumes: finished cells are skipped)")
    p.add_argument("config", help="the YAML config of the grid")
    p.add_argument("--output", help="results folder (default: results/<config name>)")
    p.add_argument("--workers", type=int, help="parallel worker processes (default: config)")
    p.add_argument("--executor", choices=["local", "ray"], help="default: config")
    p.add_argument("--max-cells", type=int, help="run at most this many unfinished cells")
    p.add_argument("--no-report", action="store_true", help="do not write the report")
    p.add_argument("--quiet", action="store_true", help="no progress lines, no library logs")
    p.add_argument(
        "--wait",
        action="store_true",
        help="if another run holds the output folder, wait for it instead of refusing",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("validate", help="validate a config and count its cells")
    p.add_argument("config", help="the YAML config to check")
    p.add_argument("--output", help="the results folder `run` would use (checked writable)")
    p.add_argument(
        "--no-data",
        action="store_true",
        help="skip the checks that load each data set (class counts)",
    )
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "cache", help="check every cache entry against its checksum, or remove the caches"
    )
    p.add_argument(
        "action",
        choices=["verify", "clear"],
        help="verify: bad entries are moved aside (as a run would); clear: remove them all",
    )
    p.set_defaults(func=_cmd_cache)

    p = sub.add_parser(
        "salvage", help="copy the finished cells a damaged results store still holds"
    )
    p.add_argument("store", help="the damaged results.sqlite (moved aside)")
    p.add_argument("output", help="an empty folder for the new results.sqlite")
    p.set_defaults(func=_cmd_salvage)

    p = sub.add_parser("report", help="write the report of a results folder (or of a config)")
    p.add_argument("target", help="a results folder (holding results.sqlite) or its config")
    p.add_argument("--quiet", action="store_true", help="no progress lines, no library logs")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("compare", help="compare the same systems in two result folders")
    p.add_argument("run_a", help="results folder A")
    p.add_argument("run_b", help="results folder B")
    p.add_argument("--metric", action="append", help="metric to compare (repeatable)")
    p.add_argument("--csv", help="also write the comparison as CSV")
    p.set_defaults(func=_cmd_compare)

    _add_evaluate_parser(sub)

    p = sub.add_parser(
        "plan", help="from a pilot results folder: units and seeds each comparison needs"
    )
    p.add_argument("results", help="the pilot's results folder")
    p.add_argument(
        "--delta",
        action="append",
        help="the |Δ| to detect: a number for every metric or METRIC=NUMBER (repeatable); "
        "'observed' (or METRIC=observed): each comparison's own pilot |Δ|; default each "
        "metric's smallest effect of interest (0.01)",
    )
    p.add_argument("--power", type=float, default=0.8, help="power to reach (default 0.8)")
    p.add_argument(
        "--versus",
        metavar="MODEL",
        help="also plan every other untreated model against this one (a model label as the "
        "report prints it, e.g. popularity)",
    )
    p.add_argument("--csv", help="also write the plan as CSV")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("datasets", help="list the bundled data sets")
    p.set_defaults(func=_cmd_datasets)

    p = sub.add_parser(
        "profile", help="imbalance profile of a data set by a grouping + Lorenz PNG and CSV"
    )
    p.add_argument("name", help="a data set (name or name:table) or a config file (.yaml)")
    p.add_argument(
        "--by",
        "--label",
        dest="by",
        help="popularity, brand, category, price, manufacturer or a column (default: "
        "popularity for interactions, the label of labelled texts)",
    )
    p.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="a data-set parameter (repeatable)"
    )
    p.add_argument(
        "--output", help="folder of the PNG and CSV (default: results/profile, or the config's)"
    )
    p.add_argument(
        "--rule",
        default="share",
        choices=["share", "rank"],
        help="head/mid/tail rule: 'share' of examples (default) or 'rank' share of classes",
    )
    p.set_defaults(func=_cmd_profile)

    p = sub.add_parser("components", help="list every data set, model and treatment per task")
    p.add_argument(
        "--update-doc",
        metavar="PATH",
        nargs="?",
        const="docs/components.md",
        help="write the tables into PATH's markers (default docs/components.md)",
    )
    p.set_defaults(func=_cmd_components)

    p = sub.add_parser("describe", help="a component's parameters, defaults, ranges, treatments")
    p.add_argument("name", help="a data set, model or treatment name (see `skewbench components`)")
    p.set_defaults(func=_cmd_describe)

    p = sub.add_parser("metrics", help="every metric a report shows, with its formula")
    p.add_argument("--markdown", action="store_true", help="the docs table with every choice")
    p.add_argument(
        "--update-doc",
        metavar="PATH",
        nargs="?",
        const="docs/metrics.md",
        help="write the table into PATH's markers (default docs/metrics.md)",
    )
    p.set_defaults(func=_cmd_metrics)
    _add_explain_parser(sub)
    for name, command in sub.choices.items():
        command.formatter_class = argparse.RawDescriptionHelpFormatter
        command.epilog = "example:\n  " + "\n  ".join(EXAMPLES.get(name, ()))
    return parser


# One or two lines per subcommand, shown under its --help (a test checks every one has some).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "run": ("skewbench run configs/quick.yaml --output results/quick",),
    "validate": ("skewbench validate configs/quick.yaml --no-data",),
    "salvage": ("skewbench salvage results/x/results.sqlite.damaged results/x_salvaged",),
    "report": ("skewbench report results/quick", "skewbench report configs/quick.yaml"),
    "compare": ("skewbench compare results/quick results/quick_rerun --metric ndcg@10",),
    "datasets": ("skewbench datasets",),
    "profile": ("skewbench profile clothing --label class_name",),
    "components": ("skewbench components", "skewbench components --update-doc"),
    "describe": ("skewbench describe xquad",),
    "metrics": ("skewbench metrics", "skewbench metrics --update-doc"),
    "explain": ("skewbench explain results/recommend_quick --cell 3fa2 --user 1234",),
    "cache": ("skewbench cache verify", "skewbench cache clear"),
    "plan": (
        "skewbench plan results/quick --delta ndcg@10=0.005 --power 0.8",
        "skewbench plan results/llm_quick --delta observed",
    ),
    "evaluate": (
        "skewbench evaluate --task recommend --qrels qrels.txt --run mine=run.trec "
        "--output results/mine",
    ),
}


def _add_evaluate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score your own runs (or predictions) and write a results folder with its report",
    )
    p.add_argument("--task", required=True, choices=["recommend", "search", "categorize"])
    p.add_argument("--qrels", help="judgments: TREC qrels, ranx JSON, CSV/TSV/Parquet")
    p.add_argument(
        "--run",
        action="append",
        metavar="NAME=FILE",
        help="a run (repeatable): TREC, ranx "
        "JSON, CSV/TSV/Parquet (unit, item, score and/or rank); NAME is its model name",
    )
    p.add_argument("--labels", help="categorize: true labels (id, label), CSV/TSV/Parquet")
    p.add_argument(
        "--predictions",
        action="append",
        metavar="NAME=FILE",
        help="categorize (repeatable): id and label and/or proba_<class> columns",
    )
    p.add_argument("--items", help="item table (item, brand, category_path, price, …)")
    p.add_argument(
        "--group",
        action="append",
        metavar="COLUMN",
        help="another --items column to group exposure by (repeatable)",
    )
    p.add_argument("--train", help="training interactions (unit, item) or (item, popularity)")
    p.add_argument("--users", help="unit attributes (unit, any columns) for 'who is served'")
    p.add_argument("--k", type=int, default=10, help="exposure depth; a cutoff too (default 10)")
    p.add_argument("--output", required=True, help="results folder to write")
    p.add_argument("--no-report", action="store_true", help="store only, no report")
    p.set_defaults(func=_cmd_evaluate)


def _add_explain_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain", help="one user's / query's list from a finished cell, with reasons per item"
    )
    p.add_argument("results", help="results folder (holding results.sqlite)")
    p.add_argument("--cell", required=True, help="cell key (a unique prefix is enough)")
    p.add_argument("--user", help="user id (recommend cells)")
    p.add_argument("--query", help="query id or exact query text (search cells)")
    p.add_argument("--top", type=int, default=10, help="list positions to show (default 10)")
    p.set_defaults(func=_cmd_explain)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # Weight-loading progress bars from every worker would drown the run's own progress bar.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING
    if getattr(args, "quiet", False):
        level = logging.ERROR
    # The level goes on the handler too: a library that sets its own logger to DEBUG (bm25s
    # does) would otherwise print through the root handler.
    handler = logging.StreamHandler()
    handler.setLevel(level)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler]
    )
    previous = _sigterm_as_interrupt()
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:  # `skewbench metrics | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Interrupted as err:
        print(f"skewbench: {err}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("skewbench: interrupted", file=sys.stderr)
        return 130
    except SkewbenchError as err:
        print(f"skewbench: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        problem = environment_problem(err)
        if problem is not None:  # the machine, not the config: exit 2 with what to do
            print(f"skewbench: error: {problem}", file=sys.stderr)
            return 2
        if isinstance(err, OSError):  # a path the user gave: missing, a directory
            where = f"{err.filename}: " if err.filename else ""
            print(f"skewbench: error: {where}{err.strerror or err}", file=sys.stderr)
            return 2
        if args.verbose:
            raise
        print(
            f"skewbench: internal error: {type(err).__name__}: {err} "
            "(a bug: please report it; rerun with -v for the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _sigterm_as_interrupt():
    """SIGTERM (kill, a scheduler's stop) takes the Ctrl-C path: workers stopped, count shown."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        return None


if __name__ == "__main__":
    sys.exit(main())
