"""The `lab` command line."""

import argparse
import json
import signal
import sys
from pathlib import Path

from lab import scratch
from lab.arch import ARCHES, get_arch, parse_arches
from lab.errors import InfraError, LabError, UsageError
from lab.exitcodes import ExitStatus, run_exit_status
from lab.kernel.build import BuildRequest, build_kernel, load_build
from lab.paths import KERNELS_DIR, history_path
from lab.progress import note
from lab.report.trends import LAST_RUNS
from lab.run import options
from lab.version import lab_identity

JSON_HELP = "print one JSON document on stdout instead of the tables (README: JSON output)"


def _add_kernel_options(p: argparse.ArgumentParser) -> None:
    options.declare(p, (options.ARCH, *options.BUILD_OPTIONS))


def _add_guest_options(p: argparse.ArgumentParser) -> None:
    options.declare(p, options.GUEST_OPTIONS)


def _add_target_options(p: argparse.ArgumentParser) -> None:
    t = p.add_argument_group("remote target (README: Remote targets)")
    t.add_argument(
        "--target",
        action="append",
        metavar="ssh://[USER@]HOST[:PORT]",
        help="run the suites on this already booted machine instead of a lab guest; HOST "
        "may be a Host of the ssh config; given several times, the targets run at once",
    )
    t.add_argument(
        "--ssh-key",
        type=Path,
        help="private key file for the targets and their jump hosts (default: the ssh "
        "config's IdentityFile, the SSH agent and ~/.ssh keys)",
    )
    t.add_argument(
        "--known-hosts",
        type=Path,
        help="known_hosts file with the host keys of the targets and their jump hosts "
        "(default: the ssh config's UserKnownHostsFile, else ~/.ssh/known_hosts)",
    )
    t.add_argument(
        "--ssh-config",
        type=Path,
        metavar="FILE",
        help="ssh config file: Host aliases, HostName, User, Port, IdentityFile, "
        "ProxyJump, ProxyCommand (default ~/.ssh/config)",
    )
    t.add_argument(
        "--target-dir",
        default="/var/tmp/faultlab",
        help="where the programs and modules go on the target",
    )
    t.add_argument("--target-tmpfs", default="/dev/shm", help="a tmpfs directory on the target")
    t.add_argument(
        "--target-ext4",
        default="",
        help="an ext4 directory on the target (default: none, ext4 cases skip)",
    )
    t.add_argument(
        "--target-kernel-build",
        default="",
        metavar="BUILD|DIR",
        help="the target kernel's lab build id, or its kernel build directory, "
        "for the lab's modules (default: suites that load one skip)",
    )


def _add_runtime_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--runtime",
        default="local",
        choices=["local", "celery"],
        help=f"where {what}: here, or on the worker pool (README: Worker pool)",
    )
    p.add_argument(
        "--broker",
        help="with --runtime celery: AMQP URL of the broker (default: "
        "$FAULTLAB_BROKER, else amqp://guest:guest@127.0.0.1:5672//)",
    )


def values(args: argparse.Namespace) -> options.Values:
    """The parsed options by dest, as the option vocabulary reads them."""
    return lambda dest: getattr(args, dest)


def build_request(args: argparse.Namespace, arch_name: str) -> BuildRequest:
    """A BuildRequest from the common kernel options."""
    return options.build_request(values(args), get_arch(arch_name))


def kernel_for(args: argparse.Namespace, arch_name: str):
    """The --kernel build, or a build from the kernel options."""
    if args.kernel:
        build = load_build(args.kernel)
        if build.arch.name != arch_name:
            raise UsageError(f"kernel {build.id} is for {build.arch.name}, not {arch_name}")
        return build
    return build_kernel(build_request(args, arch_name))


def cmd_build(args: argparse.Namespace) -> int:
    for arch in parse_arches(args.arch):
        build = build_kernel(build_request(args, arch.name))
        print(f"{arch.name}: build {build.id} ({build.release}) at {build.dir}")
    return ExitStatus.OK


def record_run(args: argparse.Namespace, run_dir: Path, module_params: tuple) -> bool:
    """Add a `lab run` to the history (an interrupted one as incomplete), unless told not
    to, its kernel modules ran with parameters (a bug pattern brought back is no result of
    the cell's kernel), no target said what it is, or nothing finished (a target that
    never answered stays out of it)."""
    import json

    from lab.history.ingest import ingest_run_dir

    try:
        summary = json.loads((run_dir / "run.json").read_text())
        records = json.loads((run_dir / "results.json").read_text())["records"]
    except (OSError, ValueError, KeyError):
        summary, records = {"arches": []}, []
    known = [entry for entry in summary["arches"] if entry["arch"] in ARCHES]
    why = (
        "--no-history"
        if args.no_history
        else "module parameters"
        if module_params
        else "the target never answered: its arch is unknown"
        if summary["arches"] and not known
        else "nothing finished"
        if not records
        else ""
    )
    if why:
        note(f"not recorded in the history ({why})")
        return False
    for entry in summary["arches"]:
        if entry["arch"] not in ARCHES:
            note(f"{entry['target']} never answered: it stays out of the history")
    with open_history(args) as db:
        try:
            ingest_run_dir(db, run_dir)
        except UsageError as e:
            note(f"not recorded in the history: {e}")
            return False
    state = "" if summary.get("complete") else " (incomplete)"
    note(f"recorded in the history {db.path} as {run_dir.name}{state}")
    return True


def cmd_run(args: argparse.Namespace) -> int:
    from lab.run.lab_run import RunRequest, new_run_dir, run_lab
    from lab.run.summary import print_summary
    from lab.suites.catalogue import check_module_params, select_suites

    if args.target:
        arches = tuple(parse_arches(args.arch or ",".join(ARCHES)))
    else:
        arches = tuple(parse_arches(args.arch or "x86_64"))
    if args.kernel and len(arches) != 1:
        raise UsageError("--kernel names one build: give a single --arch")
    if args.kernel:
        kernel_for(args, arches[0].name)  # there, for this arch, and whole: before any work
    suites = select_suites(args.suite)
    knobs = options.knobs(values(args), with_module_params=True)
    check_module_params(knobs.module_params, suites)
    request = RunRequest(
        arches=arches,
        suites=tuple(suites),
        build=build_request(args, arches[0].name),
        results_root=args.results,
        kernel=args.kernel,
        guest=options.guest_options(values(args), arches),
        knobs=knobs,
    )
    parts = remote_parts(args, request)
    run_dir = new_run_dir(args.results)
    try:
        runs = run_lab(request, run_dir, parts, at_once=bool(parts))
    except BaseException:  # interrupted: what finished is in run_dir, and goes to the history
        record_run(args, run_dir, knobs.module_params)
        raise
    recorded = record_run(args, run_dir, knobs.module_params)
    report = run_report(args, run_dir, recorded)
    print_summary(runs, run_dir, report, verbose=args.verbose)
    return run_exit_status(r.state for run in runs for r in run.records)


def run_report(args: argparse.Namespace, run_dir: Path, recorded: bool) -> Path:
    """The run's report.html, the page `lab report` makes: classified against the history
    the run went into, else against nothing (a history of its own, thrown away)."""
    from lab.history.ingest import run_from
    from lab.history.store import HistoryStore
    from lab.report.collect import collect_report
    from lab.report.write import write_report

    with scratch.scratch_dir("report") as scratch_history:
        store = open_history(args) if recorded else HistoryStore(scratch_history / "h.sqlite")
        with store as db:
            report = collect_report(db, run_from(db, str(run_dir)), run_dir)
        return write_report(report, run_dir).html


def remote_parts(args: argparse.Namespace, request) -> list:
    """`--target`: a part of the run per remote target; none without it."""
    if not args.target:
        return []
    from functools import partial

    from lab.remote.run import RemoteTarget, run_target
    from lab.transport.ssh_config import SshOptions
    from lab.transport.url import parse_target

    if args.kernel:
        raise UsageError(
            "--kernel boots a lab guest; a --target runs its own kernel (give "
            "its build with --target-kernel-build)"
        )
    if args.ssh_config and not args.ssh_config.expanduser().is_file():
        raise UsageError(f"--ssh-config {args.ssh_config}: no such file")
    urls = [parse_target(text) for text in args.target]
    twice = sorted({str(url) for url in urls if urls.count(url) > 1})
    if twice:
        raise UsageError(f"--target {twice[0]} is given twice")
    names = target_names(urls) if len(urls) > 1 else [""] * len(urls)
    ssh = SshOptions(args.ssh_key, args.known_hosts, args.ssh_config)
    return [
        partial(
            run_target,
            request,
            RemoteTarget(
                url,
                ssh,
                args.target_dir,
                args.target_tmpfs,
                args.target_ext4,
                args.target_kernel_build,
                name,
            ),
        )
        for url, name in zip(urls, names, strict=True)
    ]


def target_names(urls: list) -> list[str]:
    """A folder name per target: its host (and port), made unique with its user or index."""
    import re

    def clean(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")

    names = [clean(f"{url.host}-{url.port}" if url.port else url.host) for url in urls]
    if len(set(names)) < len(names):
        names = [clean(f"{url.user}-{name}") for url, name in zip(urls, names, strict=True)]
    if len(set(names)) < len(names):
        names = [f"{name}-{index}" for index, name in enumerate(names, 1)]
    return names


def cmd_boot(args: argparse.Namespace) -> int:
    from lab.image.ssh_image import require_ssh
    from lab.run.machine import lab_machine
    from lab.suites.catalogue import all_suites
    from lab.vm.interactive import interactive_console

    arch = get_arch(args.arch)
    if not sys.stdin.isatty():
        raise UsageError("lab boot needs a terminal on standard input")
    if args.ssh:
        require_ssh(arch)  # before a kernel build
    guest = options.guest_options(values(args), [arch], ssh=args.ssh)
    build = kernel_for(args, arch.name)
    machine = lab_machine(build, all_suites().values(), guest)
    return interactive_console(machine.spec, args.results / "boot")


def cmd_bench(args: argparse.Namespace) -> int:
    from lab.bisect.bench import bench_bisect, summarize_bisects
    from lab.run.bench import bench_arch, summarize, write_bench
    from lab.run.machine import GuestOptions

    guest = GuestOptions(accel=args.accel)
    if args.bisect:
        sizes = [int(n) for n in args.bisect.split(",")]
        bisects = [bench_bisect(arch.name, n) for arch in parse_arches(args.arch) for n in sizes]
        results, lines = bisects, summarize_bisects(bisects)
    elif args.hangs:
        from lab.run.hangbench import HANGS, provoke, summarize_hangs

        workdir = args.output.parent / "hangs"
        figures = [
            provoke(build_kernel(options.build_request(values(args), arch)), hang, workdir, guest)
            for arch in parse_arches(args.arch)
            for hang in HANGS
        ]
        results, lines = figures, summarize_hangs(figures)
    else:
        archs = [
            bench_arch(arch, args.source, args.boots, args.patch_changes, guest)
            for arch in parse_arches(args.arch)
        ]
        results, lines = archs, summarize(archs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_bench(results, args.output)
    print(lines)
    print(f"figures: {args.output}")
    return ExitStatus.OK


def cmd_coverage(args: argparse.Namespace) -> int:
    from lab.run.coverage import CoverageRequest, run_coverage, tables
    from lab.run.machine import GuestOptions
    from lab.suites.catalogue import select_suites

    arches = tuple(parse_arches(args.arch))
    request = CoverageRequest(
        arches=arches,
        suites=tuple(select_suites(args.suite)),
        build=build_request(args, arches[0].name),
        results_root=args.results,
        guest=GuestOptions(accel=args.accel, pressure=args.pressure),
        knobs=options.knobs(values(args)),
    )
    run_dir, measured = run_coverage(request)
    print(tables(measured))
    print(f"coverage data: {run_dir}")
    return ExitStatus.OK if all(m.passed for m in measured) else ExitStatus.FAILED


def open_history(args: argparse.Namespace):
    """The history database of --history, or the default one."""
    from lab.history.store import HistoryStore

    return HistoryStore(args.history or history_path())


def print_json(document: dict) -> None:
    """One JSON document on stdout (--json)."""
    print(json.dumps(document, indent=2), flush=True)


def cmd_history(args: argparse.Namespace) -> int:
    from lab.arch.variants import parse_variants
    from lab.history.documents import case_history_document, import_document
    from lab.history.ingest import ingest_run_dir
    from lab.history.views import case_history_view
    from lab.terminal import console

    if args.last < 1:
        raise UsageError(f"--last {args.last}: show at least one run")
    with open_history(args) as db:
        if args.imports:
            records = []
            for run_dir in args.imports:
                record = ingest_run_dir(db, run_dir)
                records.append(record)
                cells = ", ".join(cell.key for cell in record.cells) or "no cells"
                line = f"{record.run.run_id}: {cells}; {len(record.results)} results into {db.path}"
                if args.json:
                    note(line)
                else:
                    print(line)
            if args.json:
                print_json(import_document(db.path, records))
            return ExitStatus.OK
        variants = tuple((v.arch, v.mmu) for v in parse_variants(args.arch or ""))
        history = db.case_history(args.test, cell=args.cell, variants=variants)
        if not history:
            raise UsageError(
                f"no results of {args.test!r} in {db.path} for these filters; "
                "`lab history --import results/<run id>` adds a run"
            )
        if args.json:
            print_json(case_history_document(args.test, history, args.last))
        else:
            console().print(case_history_view(args.test, history, args.last))
    return ExitStatus.OK


def cmd_compare(args: argparse.Namespace) -> int:
    from lab.arch.variants import parse_variants
    from lab.history.compare import compare_runs, cross_arch
    from lab.history.documents import compare_document, cross_arch_document
    from lab.history.ingest import run_from
    from lab.history.views import compare_view, cross_arch_view
    from lab.terminal import console

    variants = parse_variants(args.arch or "")
    if len(args.runs) != (1 if variants else 2):
        raise UsageError(
            "--arch compares one run across arch variants: give one RUN"
            if variants
            else "give two runs to compare (or one run and --arch)"
        )
    with open_history(args) as db:
        if variants:
            record = run_from(db, args.runs[0])
            table = cross_arch(record, variants)
            if args.json:
                print_json(cross_arch_document(record.run, table))
                return ExitStatus.OK
            view = cross_arch_view(record.run.run_id, table)
        else:
            a, b = (run_from(db, ref) for ref in args.runs)
            changes = compare_runs(a, b)
            if args.json:
                print_json(compare_document(a.run, b.run, changes, args.changed))
                return ExitStatus.OK
            view = compare_view(a.run.run_id, b.run.run_id, changes, args.changed)
    console().print(view)
    return ExitStatus.OK


def cmd_report(args: argparse.Namespace) -> int:
    from lab.history.ingest import run_from
    from lab.report.collect import collect_report
    from lab.report.terminal import summary_view
    from lab.report.write import write_report
    from lab.terminal import console

    if args.last < 1:
        raise UsageError(f"--last {args.last}: plot at least one run")
    with open_history(args) as db:
        record = run_from(db, args.run)
        given = Path(args.run)
        run_dir = given if given.is_dir() else Path(record.run.results_dir)
        if not run_dir.is_dir():
            raise UsageError(
                f"the results directory of run {record.run.run_id}, {run_dir}, "
                "is gone: give the directory where it is now"
            )
        report = collect_report(db, record, run_dir, last=args.last)
    files = write_report(report, run_dir)
    console().print(summary_view(report, files), soft_wrap=True)
    return report.exit_status


def cmd_nightly(args: argparse.Namespace) -> int:
    from lab.nightly.command import NightlyJob, nightly
    from lab.nightly.driver import NightlyOptions

    night = NightlyOptions(
        results_root=args.results,
        slots=args.slots,
        retries=args.retries,
        reruns=args.reruns,
        seed=args.seed,
    )
    return nightly(
        NightlyJob(
            args.matrix,
            night,
            make_runtime(args.runtime, args.broker),
            history=args.history,
            keep=args.keep,
        )
    )


def make_runtime(name: str, broker: str | None):
    """Where jobs run: here ('local'), or on the worker pool ('celery')."""
    if name == "local":
        from lab.runtime.local import LocalRuntime

        return LocalRuntime()
    from lab.runtime.celery_app import TimeLimits, broker_from_env, make_app
    from lab.runtime.pool import CeleryRuntime
    from lab.runtime.store import default_store

    limits = TimeLimits()
    runtime = CeleryRuntime(
        make_app(broker or broker_from_env(), limits),
        default_store(),
        timeout_s=limits.hard_s + 600,
    )
    runtime.check_broker()
    return runtime


def cmd_worker(args: argparse.Namespace) -> int:
    from lab.runtime.queues import parse_queues
    from lab.runtime.worker import DEFAULT_NAME, WorkerOptions, run_worker

    worker = WorkerOptions(
        parse_queues(args.queues),
        concurrency=args.concurrency,
        name=args.name or DEFAULT_NAME,
        broker=args.broker or "",
    )
    return run_worker(worker)


def cmd_bisect(args: argparse.Namespace) -> int:
    from lab.bisect import command
    from lab.bisect.state import load_state

    forms = [bool(args.tree), bool(args.series), bool(args.resume), bool(args.from_regression)]
    if sum(forms) != 1:
        raise UsageError(
            "give one of --tree (with --good/--bad), --series (with --source), "
            "--resume ID or --from-regression RUN CASE"
        )
    knobs = options.knobs(values(args))
    bisecting = command.BisectOptions(
        arch=args.arch,
        test=args.test or "",
        repeat=args.repeat,
        pressure=args.pressure,
        timeout_s=args.timeout,
        flavour=args.flavour,
        fragments=tuple(args.fragments),
        jobs=args.jobs,
        seed=args.seed,
        duration_s=knobs.duration_s,
        titles=tuple(args.oops),
        history=args.history or history_path(),
    )
    if (args.tree or args.series) and not args.test:
        raise UsageError("--test SUITE/PROGRAM/CASE: the test that fails")
    try:
        if args.resume:
            state = load_state(args.resume)
        elif args.tree:
            if not (args.good and args.bad):
                raise UsageError("--tree needs --good REV and --bad REV")
            state = command.git_state(args.tree, args.good, args.bad, bisecting)
        elif args.series:
            state = command.series_state(args.source, args.series, bisecting)
        else:
            run_id, case = args.from_regression
            regression = command.from_history(bisecting.history, run_id, case, args.cell)
            line = (
                f"regression of {regression.test} in {regression.cell}: last good run "
                f"{regression.good_run}, failing run {regression.bad_run}"
            )
            if args.json:
                note(line)
            else:
                print(line)
            state = command.regression_state(regression, bisecting)
        pool = make_runtime(args.runtime, args.broker) if args.runtime != "local" else None
        return command.bisect(state, pool, as_json=args.json)
    except InfraError as e:
        print(f"lab: {e.kind}: {e}", file=sys.stderr)
        return ExitStatus.INFRA


def cmd_doctor(args: argparse.Namespace) -> int:
    from lab.doctor import report

    return report(probe_kvm=args.probe_kvm)


class VersionAction(argparse.Action):
    """--version: which faultlab this is (asked of git only when wanted)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="show the lab's version and commit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(lab_identity())
        parser.exit()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lab", description="faultlab: kernel fault-path test lab")
    p.add_argument("--version", action=VersionAction)
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build a (patched) kernel")
    _add_kernel_options(b)
    b.set_defaults(func=cmd_build)

    r = sub.add_parser("run", help="build, boot and run suites; write results/<run id>/")
    _add_kernel_options(r)
    _add_guest_options(r)
    options.declare(
        r,
        (
            options.SUITE,
            options.RESULTS,
            *options.KNOB_OPTIONS,
            options.MODULE_PARAM,
            options.HISTORY,
        ),
    )
    r.add_argument("-v", "--verbose", action="store_true", help="the table of every case")
    r.add_argument("--no-history", action="store_true", help="do not record the run in the history")
    _add_target_options(r)
    r.set_defaults(func=cmd_run, arch=None)

    c = sub.add_parser(
        "coverage", help="line coverage of the target mm functions per suite (builds a gcov kernel)"
    )
    _add_kernel_options(c)
    options.declare(
        c,
        (
            options.ACCEL,
            options.PRESSURE,
            options.SUITE.but(default="smoke,fault,nonlinear"),
            options.RESULTS,
            *options.KNOB_OPTIONS,
        ),
    )
    c.set_defaults(func=cmd_coverage)

    bo = sub.add_parser("boot", help="interactive console on a fresh guest (Ctrl-] leaves)")
    _add_kernel_options(bo)
    _add_guest_options(bo)
    options.declare(bo, (options.RESULTS.but(help="console log root"),))
    bo.add_argument(
        "--ssh",
        action="store_true",
        help="start an SSH server in the guest "
        "(x86_64) on a free port of 127.0.0.1, and print how to log in",
    )
    bo.set_defaults(func=cmd_boot)

    be = sub.add_parser("bench", help="measure rebuild, boot and smoke times (figures only)")
    options.declare(
        be, (options.ARCH.but(default="x86_64,ppc64"), *options.BUILD_OPTIONS, options.ACCEL)
    )
    be.add_argument("--boots", type=int, default=5, help="boots to time per arch")
    be.add_argument(
        "--patch-changes", type=int, default=2, help="one-line patch changes to time per arch"
    )
    be.add_argument(
        "--bisect",
        metavar="N[,N...]",
        help="instead: time whole bisects of the demo history over N candidates "
        "(multiples of 16, e.g. 16,64)",
    )
    be.add_argument(
        "--hangs",
        action="store_true",
        help="instead: time how fast an LKDTM soft lockup and hung task end their command",
    )
    be.add_argument("--output", type=Path, default=Path("results/bench.json"))
    be.set_defaults(func=cmd_bench)

    h = sub.add_parser(
        "history",
        help="a case's results over the runs of the history, and "
        "what they say about the newest; or import results directories",
    )
    what = h.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--test",
        help="SUITE/CASE, e.g. fault/fault/sigbus_beyond_eof_ext4, or "
        "the case as results.json names it (fault/sigbus_beyond_eof_ext4)",
    )
    what.add_argument(
        "--import",
        dest="imports",
        type=Path,
        nargs="+",
        metavar="RUN_DIR",
        help="add `lab run` results directories to the history",
    )
    h.add_argument(
        "--arch",
        help="only these arch variants, comma-separated: x86_64, ppc64 (radix MMU), ppc64-hash",
    )
    h.add_argument("--cell", help="only this cell, e.g. debian-6.1/ppc64-hash/heavy")
    h.add_argument(
        "--last",
        type=int,
        default=20,
        help="runs shown per cell (the classification looks at all of them)",
    )
    h.add_argument("--json", action="store_true", help=JSON_HELP)
    options.declare(h, (options.HISTORY,))
    h.set_defaults(func=cmd_history)

    co = sub.add_parser(
        "compare",
        help="two runs case by case, or one run across arch "
        "variants; a RUN is a run id of the history or a results directory",
    )
    co.add_argument("runs", nargs="+", metavar="RUN", help="RUN_A RUN_B, or RUN with --arch")
    co.add_argument(
        "--arch", help="compare one run across these arch variants, e.g. x86_64,ppc64,ppc64-hash"
    )
    co.add_argument("--changed", action="store_true", help="leave out unchanged cases")
    co.add_argument("--json", action="store_true", help=JSON_HELP)
    options.declare(co, (options.HISTORY,))
    co.set_defaults(func=cmd_compare)

    rp = sub.add_parser(
        "report",
        help="write a run's report (report.html, summary.md, "
        "report-junit.xml) into its results directory; exit status 1 when the "
        "run has new regressions, else 0",
    )
    rp.add_argument(
        "run",
        metavar="RUN",
        help="results/<run id> (imported into the history "
        "first when the history lacks it) or a run id of the history",
    )
    rp.add_argument(
        "--last",
        type=int,
        default=LAST_RUNS,
        help="runs of a cell the plots cover, this one included",
    )
    options.declare(rp, (options.HISTORY,))
    rp.set_defaults(func=cmd_report)

    n = sub.add_parser(
        "nightly",
        help="build and run a whole matrix, record it in the "
        "history, write its report; exit status 1 when there are new "
        "regressions",
    )
    n.add_argument(
        "--matrix",
        type=Path,
        default=KERNELS_DIR / "nightly.toml",
        help="the matrix file (default: kernels/nightly.toml)",
    )
    options.declare(
        n,
        (
            options.RESULTS,
            options.HISTORY.but(help=options.HISTORY.help + "; a matrix may name its own"),
        ),
    )
    n.add_argument(
        "--slots",
        type=int,
        default=0,
        help="cells run at once (default: as many as cores and memory allow, a guest per 2 cores)",
    )
    n.add_argument(
        "--retries", type=int, default=1, help="more attempts for a cell with infra results"
    )
    n.add_argument(
        "--reruns",
        type=int,
        default=1,
        help="more runs of the suites that failed, to tell consistent failures from flaky ones",
    )
    n.add_argument(
        "--keep",
        type=int,
        default=30,
        help="nights whose results directories are kept (older ones are deleted; "
        "the history keeps their results)",
    )
    options.declare(n, (options.SEED.but(help="seed for every cell (default: a new one)"),))
    _add_runtime_options(n, "builds and cells run")
    n.set_defaults(func=cmd_nightly)

    w = sub.add_parser(
        "worker",
        help="serve the worker pool (Celery) in the foreground: "
        "take jobs from these queues of the broker; Ctrl-C stops",
    )
    w.add_argument(
        "--queues",
        default="build",
        help="comma-separated: build, qemu-x86_64, "
        "qemu-ppc64 (a qemu queue needs that arch's QEMU and cross compiler)",
    )
    w.add_argument("--concurrency", type=int, default=1, help="jobs at once")
    w.add_argument(
        "--name",
        help="the worker's node name (default faultlab@%%h; %%h: the "
        "host name); give each worker of one host its own",
    )
    w.add_argument(
        "--broker",
        help="AMQP URL of the broker (default: $FAULTLAB_BROKER, else "
        "amqp://guest:guest@127.0.0.1:5672//)",
    )
    w.set_defaults(func=cmd_worker)

    bi = sub.add_parser(
        "bisect",
        help="find the commit, or the patch of a series, that "
        "made a test fail; exit status 0 when a culprit is confirmed, 1 when "
        "none is, 3 when the bad end cannot be built or run",
    )
    bi.add_argument("--tree", type=Path, help="a git tree holding the commits (never modified)")
    bi.add_argument("--good", help="a revision of --tree where the test passes")
    bi.add_argument("--bad", help="a revision of --tree where it fails")
    options.declare(
        bi, (options.SOURCE.but(help="with --series: the source the series applies to"),)
    )
    bi.add_argument(
        "--series",
        type=Path,
        help="bisect the patches of this series (a quilt "
        "folder or an mbox): patch k is bad if the kernel with patches 1..k fails",
    )
    bi.add_argument(
        "--resume",
        metavar="ID",
        help="go on with an interrupted bisect, or show the report of a finished one",
    )
    bi.add_argument(
        "--from-regression",
        nargs=2,
        metavar=("RUN", "CASE"),
        help="bisect a regression of the history: the case's cell, its last good "
        "and its failing kernel",
    )
    bi.add_argument(
        "--cell", help="with --from-regression: the cell, when the case failed in several"
    )
    bi.add_argument(
        "--arch", default="x86_64", help="arch variant: x86_64, ppc64 (radix MMU) or ppc64-hash"
    )
    bi.add_argument(
        "--test",
        help="SUITE/PROGRAM/CASE as `lab history` names it (e.g. "
        "smoke/smoke/remap_file_pages), PROGRAM/CASE, or boot/boot",
    )
    bi.add_argument(
        "--oops",
        action="append",
        default=[],
        metavar="TITLE",
        help="a kernel report title that is the failure too, as the lab names it "
        "(e.g. 'WARNING in foo'; repeatable)",
    )
    bi.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="runs per candidate (default: 1, or 3 to 5 when the test was flaky in the history)",
    )
    options.declare(bi, (options.PRESSURE,))
    bi.add_argument(
        "--timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="per run of the test's program (default: its own)",
    )
    options.declare(
        bi,
        (
            options.SEED.but(
                help="seed of the first run of each candidate (run i uses seed + i; "
                "default: the failing run's, else a new one)"
            ),
            options.DURATION,
            options.FLAVOUR,
            options.CONFIG,
            options.JOBS,
            options.HISTORY,
        ),
    )
    _add_runtime_options(bi, "a candidate's runs go (on the pool: all at once)")
    bi.add_argument(
        "--json", action="store_true", help="print the bisect as one JSON document on stdout"
    )
    bi.set_defaults(func=cmd_bisect)

    d = sub.add_parser("doctor", help="check host tools, kernel sources and KVM")
    d.add_argument(
        "--probe-kvm",
        action="store_true",
        help="boot an x86_64 guest under KVM and record whether it works",
    )
    d.set_defaults(func=cmd_doctor)
    return p


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # as a shell reports a death by that signal


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `lab` command."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    args = parser().parse_args(argv)
    for stale in scratch.sweep():
        note(f"removed {stale} (left by a lab process that was killed)")
    try:
        return args.func(args)
    except InfraError as e:
        print(f"lab: {e.kind}: {e}", file=sys.stderr)
        return ExitStatus.INFRA
    except LabError as e:
        print(f"lab: error: {e}", file=sys.stderr)
        return ExitStatus.BAD_INPUT
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
