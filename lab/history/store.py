"""The results history: an SQLite database of runs, their cells and their case results.

The schema's version is PRAGMA user_version; opening an older database migrates it, a newer
one is refused. A run is written in one transaction, so the history never holds half a run.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path

from lab.errors import UsageError
from lab.history.model import CaseRun, CellInfo, KernelIdentity, ResultRow, RunInfo, RunRecord

SCHEMA_V1 = (
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('run', 'nightly')),
        matrix TEXT NOT NULL,
        host TEXT NOT NULL,
        results_dir TEXT NOT NULL,
        complete INTEGER NOT NULL
    )""",
    """CREATE TABLE cells (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        cell TEXT NOT NULL,
        kernel TEXT NOT NULL,
        source TEXT NOT NULL,
        series TEXT NOT NULL,
        patches_hash TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        build_id TEXT NOT NULL,
        release TEXT NOT NULL,
        arch TEXT NOT NULL,
        mmu TEXT NOT NULL,
        pressure TEXT NOT NULL,
        seed INTEGER NOT NULL,
        duration_s INTEGER NOT NULL,
        build_state TEXT NOT NULL CHECK (build_state IN ('ok', 'fail', 'infra')),
        build_log TEXT NOT NULL,
        console_log TEXT NOT NULL,
        kernel_log TEXT NOT NULL,
        PRIMARY KEY (run_id, cell)
    )""",
    """CREATE TABLE results (
        run_id TEXT NOT NULL,
        cell TEXT NOT NULL,
        suite TEXT NOT NULL,
        case_name TEXT NOT NULL,
        attempt INTEGER NOT NULL CHECK (attempt >= 1),
        state TEXT NOT NULL CHECK (state IN ('pass', 'fail', 'skip', 'infra')),
        duration_s REAL NOT NULL,
        message TEXT NOT NULL,
        details TEXT NOT NULL,
        console_log TEXT NOT NULL,
        kernel_log TEXT NOT NULL,
        PRIMARY KEY (run_id, cell, suite, case_name, attempt),
        FOREIGN KEY (run_id, cell) REFERENCES cells (run_id, cell) ON DELETE CASCADE
    )""",
    "CREATE INDEX results_by_case ON results (case_name, suite, cell)",
    "CREATE INDEX cells_by_variant ON cells (arch, mmu)",
    "CREATE INDEX runs_by_start ON runs (started)",
)
# Version 2: which lab ran each run, and the tools (QEMU, compiler) of each cell.
SCHEMA_V2 = (
    "ALTER TABLE runs ADD COLUMN lab TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE cells ADD COLUMN tools TEXT NOT NULL DEFAULT ''",
)
# MIGRATIONS[n] takes a database from user_version n to n + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (SCHEMA_V1, SCHEMA_V2)
SCHEMA_VERSION = len(MIGRATIONS)

RUN_FIELDS = (
    "run_id",
    "started",
    "finished",
    "kind",
    "matrix",
    "host",
    "results_dir",
    "complete",
    "lab",
)
CELL_FIELDS = (
    "run_id",
    "cell",
    "kernel",
    "source",
    "series",
    "patches_hash",
    "config_hash",
    "build_id",
    "release",
    "arch",
    "mmu",
    "pressure",
    "seed",
    "duration_s",
    "build_state",
    "build_log",
    "console_log",
    "kernel_log",
    "tools",
)
RESULT_FIELDS = (
    "run_id",
    "cell",
    "suite",
    "case_name",
    "attempt",
    "state",
    "duration_s",
    "message",
    "details",
    "console_log",
    "kernel_log",
)


def columns(alias: str, fields: tuple[str, ...]) -> str:
    """'r.run_id, r.started, ...': a table's fields for a SELECT."""
    return ", ".join(f"{alias}.{name}" for name in fields)


def insert(table: str, fields: tuple[str, ...]) -> str:
    """An INSERT of one row given as a dict of the fields."""
    return (
        f"INSERT INTO {table} ({', '.join(fields)}) "
        f"VALUES ({', '.join(':' + name for name in fields)})"
    )


RUN_COLUMNS = columns("r", RUN_FIELDS)
CELL_COLUMNS = columns("c", CELL_FIELDS)
RESULT_COLUMNS = columns("x", RESULT_FIELDS)


class HistoryStore:
    """An open history database; use it as a context manager to close it."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.OperationalError as e:  # locked, read-only, ...
            self._db.close()
            raise UsageError(f"cannot use the history {path}: {e}") from e
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise UsageError(f"{path} is not a faultlab history: {e}") from e
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()["user_version"]
        if version > SCHEMA_VERSION:
            raise UsageError(
                f"{self.path}: history schema version {version} is newer than "
                f"this lab's ({SCHEMA_VERSION}); update faultlab"
            )
        for target, statements in enumerate(MIGRATIONS[version:], version + 1):
            with self._transaction() as db:
                for statement in statements:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")

    def write_run(self, record: RunRecord) -> None:
        """Write a whole run in one transaction, replacing a run with the same id."""
        run = record.run
        strays = {r.cell for r in record.results} - {c.key for c in record.cells}
        if strays:
            raise ValueError(f"run {run.run_id}: results of unknown cells {sorted(strays)}")
        if any(x.run_id != run.run_id for x in (*record.cells, *record.results)):
            raise ValueError(f"run {run.run_id}: holds cells or results of another run")
        with self._transaction() as db:
            db.execute("DELETE FROM runs WHERE run_id = ?", (run.run_id,))
            db.execute(
                insert("runs", RUN_FIELDS),
                {
                    "run_id": run.run_id,
                    "started": run.started,
                    "finished": run.finished,
                    "kind": run.kind,
                    "matrix": run.matrix,
                    "host": run.host,
                    "results_dir": run.results_dir,
                    "complete": int(run.complete),
                    "lab": run.lab,
                },
            )
            db.executemany(
                insert("cells", CELL_FIELDS),
                [
                    {
                        "run_id": c.run_id,
                        "cell": c.key,
                        "kernel": c.kernel,
                        "source": c.identity.source,
                        "series": c.identity.series,
                        "patches_hash": c.identity.patches_hash,
                        "config_hash": c.identity.config_hash,
                        "build_id": c.identity.build_id,
                        "release": c.identity.release,
                        "arch": c.arch,
                        "mmu": c.mmu,
                        "pressure": c.pressure,
                        "seed": c.seed,
                        "duration_s": c.duration_s,
                        "build_state": c.build_state,
                        "build_log": c.build_log,
                        "console_log": c.console_log,
                        "kernel_log": c.kernel_log,
                        "tools": c.tools,
                    }
                    for c in record.cells
                ],
            )
            db.executemany(
                insert("results", RESULT_FIELDS),
                [
                    {
                        "run_id": x.run_id,
                        "cell": x.cell,
                        "suite": x.suite,
                        "case_name": x.case,
                        "attempt": x.attempt,
                        "state": x.state,
                        "duration_s": x.duration_s,
                        "message": x.message,
                        "details": x.details,
                        "console_log": x.console_log,
                        "kernel_log": x.kernel_log,
                    }
                    for x in record.results
                ],
            )

    def has_run(self, run_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row is not None

    def runs(self, last: int | None = None) -> list[RunInfo]:
        """The runs, newest first; only the newest `last` ones if given."""
        rows = self._db.execute(
            f"SELECT {RUN_COLUMNS} FROM runs r ORDER BY r.started DESC, r.run_id DESC LIMIT ?",
            (-1 if last is None else last,),
        )
        return [_run(row) for row in rows]

    def run(self, run_id: str) -> RunRecord:
        """A whole run: its cells and every result row, in the order they were written."""
        if not self.has_run(run_id):
            raise UsageError(f"run {run_id!r} is not in the history {self.path}")
        cells = self._db.execute(
            f"SELECT {CELL_COLUMNS} FROM cells c WHERE c.run_id = ? ORDER BY c.rowid", (run_id,)
        )
        results = self._db.execute(
            f"SELECT {RESULT_COLUMNS} FROM results x WHERE x.run_id = ? ORDER BY x.rowid", (run_id,)
        )
        return RunRecord(
            self._run_info(run_id), tuple(map(_cell, cells)), tuple(map(_result, results))
        )

    def cell_runs(self, key: str, last: int | None = None) -> list[RunRecord]:
        """The newest `last` (default: all) runs of one cell, oldest first, each holding only
        that cell and its results."""
        run_ids = [
            row["run_id"]
            for row in self._db.execute(
                "SELECT r.run_id FROM runs r JOIN cells c ON c.run_id = r.run_id WHERE c.cell = ? "
                "ORDER BY r.started DESC, r.run_id DESC LIMIT ?",
                (key, -1 if last is None else last),
            )
        ]
        records = []
        for run_id in reversed(run_ids):
            results = self._db.execute(
                f"SELECT {RESULT_COLUMNS} FROM results x WHERE "
                "x.run_id = ? AND x.cell = ? ORDER BY x.rowid",
                (run_id, key),
            )
            records.append(
                RunRecord(
                    self._run_info(run_id),
                    (self._cell_info(run_id, key),),
                    tuple(map(_result, results)),
                )
            )
        return records

    def case_history(
        self,
        test: str,
        cell: str | None = None,
        variants: tuple[tuple[str, str], ...] = (),
        last: int | None = None,
    ) -> list[CaseRun]:
        """Every run of one case, grouped per cell (cells in key order), oldest run first.

        `test` is 'suite/case' ('fault/fault/sigbus_beyond_eof_ext4', 'boot/boot') or the case
        as results.json names it ('fault/sigbus_beyond_eof_ext4'). `cell` keeps one cell,
        `variants` the cells on these (arch, mmu) pairs; `last` keeps each cell's newest runs.
        """
        suite, _, case = test.partition("/")
        where = ["((x.suite = ? AND x.case_name = ?) OR x.case_name = ?)"]
        params: list = [suite, case, test]
        if cell is not None:
            where.append("c.cell = ?")
            params.append(cell)
        if variants:
            where.append("(" + " OR ".join("(c.arch = ? AND c.mmu = ?)" for _ in variants) + ")")
            params += [value for pair in variants for value in pair]
        rows = self._db.execute(
            f"SELECT {RESULT_COLUMNS} FROM results x "
            "JOIN cells c ON c.run_id = x.run_id AND c.cell = x.cell "
            "JOIN runs r ON r.run_id = x.run_id "
            f"WHERE {' AND '.join(where)} "
            "ORDER BY c.cell, r.started, r.run_id, x.attempt",
            params,
        )
        results = [_result(row) for row in rows]
        tests = sorted({r.test for r in results})
        if len(tests) > 1:
            raise UsageError(
                f"{test!r} names {len(tests)} cases: {', '.join(tests)}; give one as suite/case"
            )
        history = [
            CaseRun(self._run_info(run_id), self._cell_info(run_id, key), tuple(rows))
            for (key, run_id), rows in groupby(results, key=lambda r: (r.cell, r.run_id))
        ]
        if last is None:
            return history
        return [
            run
            for _, per_cell in groupby(history, key=lambda r: r.cell.key)
            for run in list(per_cell)[-last:]
        ]

    def _run_info(self, run_id: str) -> RunInfo:
        return _run(
            self._db.execute(
                f"SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_id = ?", (run_id,)
            ).fetchone()
        )

    def _cell_info(self, run_id: str, key: str) -> CellInfo:
        return _cell(
            self._db.execute(
                f"SELECT {CELL_COLUMNS} FROM cells c WHERE c.run_id = ? AND c.cell = ?",
                (run_id, key),
            ).fetchone()
        )


def _run(row: sqlite3.Row) -> RunInfo:
    return RunInfo(
        row["run_id"],
        row["started"],
        row["finished"],
        row["kind"],
        row["results_dir"],
        bool(row["complete"]),
        matrix=row["matrix"],
        host=row["host"],
        lab=row["lab"],
    )


def _cell(row: sqlite3.Row) -> CellInfo:
    identity = KernelIdentity(
        source=row["source"],
        series=row["series"],
        patches_hash=row["patches_hash"],
        config_hash=row["config_hash"],
        build_id=row["build_id"],
        release=row["release"],
    )
    return CellInfo(
        run_id=row["run_id"],
        key=row["cell"],
        kernel=row["kernel"],
        identity=identity,
        arch=row["arch"],
        mmu=row["mmu"],
        pressure=row["pressure"],
        seed=row["seed"],
        duration_s=row["duration_s"],
        build_state=row["build_state"],
        build_log=row["build_log"],
        console_log=row["console_log"],
        kernel_log=row["kernel_log"],
        tools=row["tools"],
    )


def _result(row: sqlite3.Row) -> ResultRow:
    return ResultRow(
        run_id=row["run_id"],
        cell=row["cell"],
        suite=row["suite"],
        case=row["case_name"],
        attempt=row["attempt"],
        state=row["state"],
        duration_s=row["duration_s"],
        message=row["message"],
        details=row["details"],
        console_log=row["console_log"],
        kernel_log=row["kernel_log"],
    )
