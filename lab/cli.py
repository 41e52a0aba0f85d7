"""The `lab` command line."""

import argparse
import os
import signal
import sys
from pathlib import Path

from lab.arch import ARCHES, get_arch, parse_arches
from lab.errors import LabError, UsageError
from lab.kernel.build import BuildRequest, build_kernel, load_build
from lab.kernel.config import FLAVOURS


def _add_kernel_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--arch", default="x86_64", help=f"one or more of {','.join(ARCHES)}")
    p.add_argument("--source", default="debian-6.1",
                   help="named source (kernels/sources.toml), git:PATH[@REV] or dir:PATH")
    p.add_argument("--series", type=Path, help="quilt series folder or mbox file")
    p.add_argument("--flavour", default="tiny", choices=list(FLAVOURS),
                   help="tiny: tinyconfig + fragments; full: arch defconfig + fragments")
    p.add_argument("--config", type=Path, action="append", default=[], dest="fragments",
                   help="extra config fragment (repeatable)")
    p.add_argument("--coverage", action="store_true",
                   help="gcov counters for mm/ (a separate build tree; see `lab coverage`)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)


def _add_guest_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kernel", help="use this build (id or artifact dir) instead of building")
    p.add_argument("--accel", default="auto", choices=["auto", "tcg", "kvm"],
                   help="auto: KVM only after `lab doctor --probe-kvm` succeeded, else TCG")
    p.add_argument("--mmu", default="", choices=["", "radix", "hash"],
                   help="ppc64 MMU (hash passes disable_radix)")
    p.add_argument("--memory", type=int, default=1024, help="guest RAM in MiB")
    p.add_argument("--pressure", default="none",
                   help="memory-pressure profile (testsuites/pressure/profiles.toml)")


def build_request(args: argparse.Namespace, arch_name: str) -> BuildRequest:
    """A BuildRequest from the common kernel options."""
    return BuildRequest(arch=get_arch(arch_name), source=args.source, series=args.series,
                        flavour=args.flavour, fragments=tuple(args.fragments), jobs=args.jobs,
                        coverage=args.coverage)


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
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from lab.job import RunRequest, run_lab
    from lab.suites import (
        check_module_params,
        new_knobs,
        parse_duration,
        parse_module_param,
        select_suites,
    )
    from lab.summary import print_summary

    arches = tuple(parse_arches(args.arch))
    if args.kernel and len(arches) != 1:
        raise UsageError("--kernel names one build: give a single --arch")
    suites = select_suites(args.suite)
    module_params = tuple(parse_module_param(p) for p in args.module_param)
    check_module_params(module_params, suites)
    request = RunRequest(arches=arches, suites=tuple(suites),
                         build=build_request(args, arches[0].name),
                         results_root=args.results, kernel=args.kernel, accel=args.accel,
                         mmu=args.mmu, memory_mb=args.memory, pressure=args.pressure,
                         knobs=new_knobs(args.seed, parse_duration(args.duration),
                                         module_params))
    run_dir, runs = run_lab(request)
    print_summary(runs, run_dir)
    states = {r.state for run in runs for r in run.records}
    return 1 if "fail" in states else 3 if "infra" in states else 0


def cmd_boot(args: argparse.Namespace) -> int:
    from lab.accel import choose_accel
    from lab.image.initramfs import build_initramfs
    from lab.pressure import get_profile
    from lab.pressure_session import machine_for
    from lab.suites import all_suites
    from lab.vm.interactive import interactive_console
    from lab.vm.qemu import MachineSpec

    arch = get_arch(args.arch)
    build = kernel_for(args, arch.name)
    image = build_initramfs(arch, list(all_suites().values()), kernel=build)
    spec = machine_for(get_profile(args.pressure), MachineSpec(
        arch, build.boot_image, image.path, memory_mb=args.memory,
        accel=choose_accel(arch, args.accel), mmu=args.mmu))
    return interactive_console(spec, args.results / "boot")


def cmd_bench(args: argparse.Namespace) -> int:
    from lab.bench import bench_arch, summarize, write_bench

    results = [bench_arch(arch, args.source, args.boots, args.patch_changes)
               for arch in parse_arches(args.arch)]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_bench(results, args.output)
    print(summarize(results))
    print(f"figures: {args.output}")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from lab.coverage_run import CoverageRequest, run_coverage, tables
    from lab.suites import new_knobs, select_suites

    arches = tuple(parse_arches(args.arch))
    request = CoverageRequest(arches=arches, suites=tuple(select_suites(args.suite)),
                              build=build_request(args, arches[0].name),
                              results_root=args.results, accel=args.accel,
                              pressure=args.pressure, knobs=new_knobs(args.seed))
    run_dir, measured = run_coverage(request)
    print(tables(measured))
    print(f"coverage data: {run_dir}")
    return 0 if all(m.passed for m in measured) else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    from lab.doctor import report

    return report(probe_kvm=args.probe_kvm)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lab", description="faultlab: kernel fault-path test lab")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build a (patched) kernel")
    _add_kernel_options(b)
    b.set_defaults(func=cmd_build)

    r = sub.add_parser("run", help="build, boot and run suites; write results/<run id>/")
    _add_kernel_options(r)
    _add_guest_options(r)
    r.add_argument("--suite", default="all", help="comma-separated suites, or 'all'")
    r.add_argument("--results", type=Path, default=Path("results"), help="results root")
    r.add_argument("--seed", type=int, help="seed for every randomized suite (default: a new "
                   "random one, printed and kept in run.json)")
    r.add_argument("--duration", default="0", help="how long each program repeats its cases "
                   "with fresh random choices: 0 (each case once, about a minute in all), "
                   "10m, 1h ...")
    r.add_argument("--module-param", action="append", default=[], metavar="MODULE.PARAM=VALUE",
                   help="a parameter for a lab module when a suite loads it (repeatable), "
                   "e.g. faultlab_spu.bug=2 brings back a known bug pattern")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("coverage", help="line coverage of the target mm functions per suite "
                       "(builds a gcov kernel)")
    _add_kernel_options(c)
    c.add_argument("--accel", default="auto", choices=["auto", "tcg", "kvm"])
    c.add_argument("--pressure", default="none", help="memory-pressure profile")
    c.add_argument("--suite", default="smoke,fault,nonlinear",
                   help="comma-separated suites, or 'all'")
    c.add_argument("--seed", type=int, help="seed for the randomized suites")
    c.add_argument("--results", type=Path, default=Path("results"), help="results root")
    c.set_defaults(func=cmd_coverage)

    bo = sub.add_parser("boot", help="interactive console on a fresh guest (Ctrl-] leaves)")
    _add_kernel_options(bo)
    _add_guest_options(bo)
    bo.add_argument("--results", type=Path, default=Path("results"), help="console log root")
    bo.set_defaults(func=cmd_boot)

    be = sub.add_parser("bench", help="measure rebuild, boot and smoke times (figures only)")
    be.add_argument("--arch", default="x86_64,ppc64", help=f"one or more of {','.join(ARCHES)}")
    be.add_argument("--source", default="debian-6.1")
    be.add_argument("--boots", type=int, default=5, help="boots to time per arch")
    be.add_argument("--patch-changes", type=int, default=2,
                    help="one-line patch changes to time per arch")
    be.add_argument("--output", type=Path, default=Path("results/bench.json"))
    be.set_defaults(func=cmd_bench)

    d = sub.add_parser("doctor", help="check host tools, kernel sources and KVM")
    d.add_argument("--probe-kvm", action="store_true",
                   help="boot an x86_64 guest under KVM and record whether it works")
    d.set_defaults(func=cmd_doctor)
    return p


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `lab` command."""
    signal.signal(signal.SIGTERM, _terminate)
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except LabError as e:
        print(f"lab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
