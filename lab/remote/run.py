"""Run suites on a remote target over SSH: identify it, upload the lab's static programs and
modules, run each program through the agent and judge it as in a guest.

A connection that drops while a program runs makes that program an infra result (the agent
on the target kills what it ran); the next program reconnects once, and if that fails too
the remaining programs are infra.
"""

import time
from dataclasses import dataclass, replace
from pathlib import Path

import paramiko

from lab.arch import ArchProfile
from lab.errors import InfraError, UsageError
from lab.image.guest_programs import compile_program
from lab.image.initramfs import AGENT_SOURCE, LABCTL_SOURCE
from lab.progress import note
from lab.remote.identity import TargetIdentity, read_identity, target_arch
from lab.remote.modules import TargetModules, target_modules
from lab.results.records import CaseRecord
from lab.run.lab_run import ArchRun, RunRequest, Saver, ignore, infra_record, verdict_line
from lab.run.program import records_for, run_program, skipped_records
from lab.suites.catalogue import Program, Suite
from lab.suites.knobs import Knobs
from lab.suites.layout import TargetPaths
from lab.transport.base import TransportLost
from lab.transport.kmsg import KmsgCursor
from lab.transport.ssh import SshLink, SshTransport, connect, upload
from lab.transport.ssh_config import SshOptions
from lab.transport.url import TargetUrl

UNKNOWN_ARCH = "unknown"  # a target that never said what it is
PEER_SKIP = "peer suites are built into the lab's guest images; they do not run on targets"


@dataclass(frozen=True)
class RemoteTarget:
    """A remote target and where the lab may put its files there."""

    url: TargetUrl
    ssh: SshOptions
    target_dir: str = "/var/tmp/faultlab"  # bin/ and modules/<release>/ go under it
    tmpfs: str = "/dev/shm"
    ext4: str = ""
    kernel_build: str = ""  # a lab build or a kernel build dir for the lab's modules
    name: str = ""  # among several targets of a run: its folder is <arch>-<name>

    def folder(self, arch: ArchProfile) -> str:
        """Its folder in the run directory: the arch's name, as for a guest, or
        <arch>-<name> when the run has several targets."""
        return f"{arch.name}-{self.name}" if self.name else arch.name

    def paths(self) -> TargetPaths:
        return TargetPaths(
            f"{self.target_dir}/bin",
            f"{self.target_dir}/modules/{{release}}",
            self.tmpfs,
            self.ext4,
        )


class Session:
    """The SSH connection and the agent, reconnected once after a drop."""

    def __init__(self, target: RemoteTarget):
        self.target = target
        self.cursor = KmsgCursor()
        self.link: SshLink | None = None
        self.transport: SshTransport | None = None
        self.reconnects = 0

    def connect(self) -> paramiko.SSHClient:
        """A new connection (the old one closed), its client."""
        self.close()
        self.link = connect(self.target.url, self.target.ssh)
        return self.link.client

    def open(self) -> SshTransport:
        """The agent, reconnecting if the last program lost it (once per run)."""
        if self.transport is not None:
            if self.transport.alive():
                return self.transport
            if self.reconnects:
                raise TransportLost(
                    f"{self.target.url}: connection lost again; not reconnecting a second time"
                )
            self.reconnects += 1
            note(f"{self.target.url}: reconnecting")
            self.connect()
        elif self.link is None:
            self.connect()
        self.transport = SshTransport(
            self.target.url, self.link.client, self.target.paths(), self.cursor
        )
        self.transport.start()
        return self.transport

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if self.link is not None:
            self.link.close()
        self.transport = None


def runnable(
    arch: ArchProfile, suites: tuple[Suite, ...], modules: TargetModules
) -> tuple[list[Program], list[CaseRecord]]:
    """The programs that run on the target, and skip records for the others."""
    programs, records = [], []
    for suite in suites:
        for program in suite.programs:
            missing = [m for m in sorted(program.loads_modules()) if m not in modules.files]
            reason = (
                PEER_SKIP
                if suite.builder
                else program.skip_reason(arch.name)
                or (f"needs {', '.join(missing)}.ko: {modules.missing}" if missing else "")
            )
            if reason:
                records += skipped_records(arch.name, program, reason)
            else:
                programs.append(program)
    return programs, records


def upload_payload(
    client: paramiko.SSHClient,
    target: RemoteTarget,
    arch: ArchProfile,
    release: str,
    programs: list[Program],
    modules: TargetModules,
) -> None:
    """The agent, labctl, the programs and the modules they load."""
    paths = target.paths()
    files = {
        "agent": compile_program(arch, AGENT_SOURCE, "agent"),
        "labctl": compile_program(arch, LABCTL_SOURCE, "labctl"),
    }
    files |= {p.file: compile_program(arch, p.source, p.name) for p in programs}
    wanted = {m for p in programs for m in p.loads_modules()}
    start = time.monotonic()
    for name, local in files.items():
        upload(client, target.url, local.read_bytes(), f"{paths.bindir}/{name}")
    for name in sorted(wanted):
        upload(
            client,
            target.url,
            modules.files[name].read_bytes(),
            paths.module(name, release),
            mode="644",
        )
    note(
        f"{target.url}: uploaded {len(files)} programs and {len(wanted)} modules in "
        f"{time.monotonic() - start:.1f}s"
    )


def run_target(
    request: RunRequest, target: RemoteTarget, run_dir: Path, saved: Saver = ignore
) -> ArchRun:
    """Every selected program on the target; the outcome is recorded like an arch of a run,
    and handed to `saved` after each program."""
    if request.guest.pressure != "none":
        raise UsageError(
            f"pressure {request.guest.pressure!r} changes the machine (RAM, swap, "
            "balloon, fault injection): lab guests only; targets run without"
        )
    session = Session(target)
    # Until the target says what it is: the arch asked for, if one was.
    arch_asked = request.arches[0].name if len(request.arches) == 1 else UNKNOWN_ARCH
    outcome = ArchRun(arch_asked, target=str(target.url))
    pending = [p for s in request.suites for p in s.programs]
    try:
        client = session.connect()
        note(f"{target.url}: connected to {session.link.route()}")
        identity = read_identity(client, target.url)
        arch = target_arch(identity, target.url)
        if arch not in request.arches:
            raise UsageError(
                f"{target.url} is {arch.name}, not {','.join(a.name for a in request.arches)}"
            )
        describe(outcome, arch, identity, target)
        modules = target_modules(target.kernel_build, arch, identity.release)
        pending, outcome.records = runnable(arch, request.suites, modules)
        upload_payload(client, target, arch, identity.release, pending, modules)
        arch_dir = run_dir / target.folder(arch)
        arch_dir.mkdir()
        kernel_log = arch_dir / "kernel.log"
        outcome.kernel_log = str(kernel_log.relative_to(run_dir))
        (arch_dir / "kernel-before.log").write_text(session.open().kmsg())
        programs, pending = pending, []
        for program in programs:
            records = run_one(session, arch, program, request.knobs, arch_dir, kernel_log)
            outcome.records += records
            saved(marked(outcome, target))
            note(f"{target.url}: {program.suite}/{program.name}: {verdict_line(records)}")
        unload_modules(session, programs)
    except InfraError as e:
        outcome.infra = str(e)
        outcome.records += [infra_record(outcome.arch, p, f"{e.kind}: {e}") for p in pending]
    finally:
        session.close()
    return marked(outcome, target)


def marked(outcome: ArchRun, target: RemoteTarget) -> ArchRun:
    """The outcome with each record naming the target it ran on."""
    outcome.records = [replace(r, target=str(target.url)) for r in outcome.records]
    return outcome


def describe(
    outcome: ArchRun, arch: ArchProfile, identity: TargetIdentity, target: RemoteTarget
) -> None:
    """The target's identity in the run's record of it."""
    outcome.arch, outcome.release = arch.name, identity.release
    outcome.source = f"target:{identity.hostname}"
    outcome.target = f"{target.url} {identity.label()}"
    note(f"target {outcome.target}")


def run_one(
    session: Session,
    arch: ArchProfile,
    program: Program,
    knobs: Knobs,
    arch_dir: Path,
    kernel_log: Path,
) -> list[CaseRecord]:
    """One program's records; a lost connection makes it infra."""
    note(f"{arch.name}: running {program.suite}/{program.name} on {session.target.url}")
    try:
        result = run_program(session.open(), arch, program, knobs, arch_dir, kernel_log)
    except InfraError as e:
        if isinstance(e, TransportLost) and session.transport is not None:
            session.transport.close()
        return [infra_record(arch.name, program, f"{e.kind}: {e}")]
    return records_for(result)


def unload_modules(session: Session, programs: list[Program]) -> None:
    """Unload the lab's modules the suites left loaded: the target is someone's machine."""
    for name in sorted({m for p in programs for m in p.loads_modules()}):
        try:
            transport = session.open()
            result = transport.run([f"{transport.paths.bindir}/labctl", "rmmod", name], 60)
            why = "" if result.ok else result.stderr.decode(errors="replace").strip()
        except InfraError as e:
            why = str(e)
        if why:
            note(f"{session.target.url}: could not unload {name}: {why}")
