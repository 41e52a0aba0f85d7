"""Confirming a culprit before naming it: it must fail again and its parent pass again.

Both kernels are built first. When they are identical (same sha256 of the boot image and
vmlinux), the culprit changed nothing that is built for this configuration and cannot be
the cause, whatever its runs said: the bisect says so instead of blaming it. Otherwise each
is run until R runs gave evidence, and judged by the same policy as a bisect step.
"""

import time

from lab.bisect.policy import BuildFailure, Signature
from lab.bisect.search import Plan
from lab.bisect.state import Journal, Result, Role, Step
from lab.bisect.steps import Bench, Built, build_candidate, make_step, run_candidate
from lab.progress import note

ROLES: tuple[Role, Role] = ("culprit", "parent")


def same_kernel(digest: str, other: str) -> bool:
    """Both kernels were built and are the same bytes."""
    return bool(digest) and digest == other


def identical_kernels(culprit: Step, parent: Step) -> bool:
    return same_kernel(culprit.kernel_digest, parent.kernel_digest)


def judge(culprit: Step, parent: Step) -> Result:
    """The bisect's result from the culprit's and its parent's confirmation steps."""
    if identical_kernels(culprit, parent):
        return Result(
            "identical",
            f"{culprit.label} is not the cause: its kernel is "
            f"identical to its parent's ({parent.label}), so it changes nothing that "
            "is built for this configuration; the test is flaky or its failure does "
            "not come from the kernel",
            culprit=culprit.candidate,
        )
    if culprit.verdict == "bad" and parent.verdict == "good":
        return Result(
            "confirmed",
            f"{culprit.label} is the first bad one: it failed again "
            f"({culprit.reason}) and its parent passed ({parent.reason})",
            culprit=culprit.candidate,
        )
    problems = []
    if culprit.verdict != "bad":
        problems.append(f"it did not fail again ({culprit.verdict}: {culprit.reason})")
    if parent.verdict != "good":
        problems.append(
            f"its parent {parent.label} did not pass ({parent.verdict}: {parent.reason})"
        )
    return Result(
        "unconfirmed",
        f"the bisect ended at {culprit.label}, but " + " and ".join(problems),
        culprit=culprit.candidate,
    )


def digest_of(built: Built | BuildFailure) -> str:
    """A built kernel's digest ('' when it did not build)."""
    return "" if isinstance(built, BuildFailure) else built.digest


def confirm(
    bench: Bench, plan: Plan, key: str, signature: Signature, repeat: int, journal: Journal
) -> Result:
    """Re-run the culprit `key` and its parent (those the journal lacks), recording each
    step as it ends, and judge them."""
    candidates: dict[Role, str] = {"culprit": key, "parent": plan.parent(key)}
    done = {
        s.role: s
        for s in journal.state.steps
        if s.role in ROLES and s.candidate == candidates[s.role]
    }
    started = time.monotonic()
    built: dict[Role, Built | BuildFailure] = {
        role: build_candidate(bench, plan.request(candidates[role]))
        for role in ROLES
        if role not in done
    }
    digests = {
        role: done[role].kernel_digest if role in done else digest_of(built[role]) for role in ROLES
    }
    same = same_kernel(digests["culprit"], digests["parent"])
    for role in ROLES:
        if role in done:
            continue
        label = plan.label(candidates[role])
        note(f"confirming: {role} {label}")
        kernel = built[role]
        runs = (
            []
            if same or isinstance(kernel, BuildFailure)
            else run_candidate(
                bench,
                kernel,
                signature,
                repeat,
                journal.step_dir(role, candidates[role]),
                until_repeat=True,
            )
        )
        step = make_step(
            journal.next_number(),
            role,
            candidates[role],
            label,
            kernel,
            runs,
            signature,
            repeat,
            started,
        )
        if same:
            step.reason = "not run: its kernel is identical to the other's"
        journal.record(step)
        done[role] = step
        started = time.monotonic()
    return judge(done["culprit"], done["parent"])
