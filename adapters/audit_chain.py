"""Tamper evidence for the event store: events hashed in notification order into signed blocks.

leaf  = sha256 over a length-prefixed encoding of (tag, notification_id, originator_id,
        originator_version, topic, state) — the exact bytes stored in the events table.
root  = sha256(prev_root || block_no (8 bytes, big-endian) || the block's leaf hashes in order);
        the genesis block's prev_root is 32 zero bytes.
The root is signed with the audit signing key (Ed25519, signature over the 32 root bytes).

The sealer follows the log like a projection: its position is the last sealed notification id,
stored with the blocks themselves, and each block is written in its own transaction under an
advisory lock. Sealing up to the max notification id is safe because eventsourcing's recorder
takes an EXCLUSIVE lock on the events table while inserting, so ids commit in id order: once id
N is visible, no transaction can still commit an id below N.

What this cannot see: deleting trailing blocks (with their events) from this database. Compare
`VerifyReport.last_root` with a copy kept elsewhere (logs, a ticket, a second system) for that.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from psycopg import Connection, sql
from psycopg_pool import ConnectionPool

from adapters.database import EVENTS_TABLE

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

HASH_SIZE = 32
GENESIS_ROOT = bytes(HASH_SIZE)
LEAF_TAG = b"careledger/audit-leaf/v1"
_NULL = b"\xff" * 8  # length prefix of an SQL NULL; no real length is 2**64 - 1
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"careledger:audit-chain").digest()[:8], "big", signed=True)

# Problem kinds, event level then block level.
MODIFIED = "modified"
MISSING = "missing"
INSERTED = "inserted"
CORRUPT_BLOCK = "corrupt_block"
ROOT_MISMATCH = "root_mismatch"
BAD_SIGNATURE = "bad_signature"
CHAIN_BROKEN = "chain_broken"
EVENT_KINDS = frozenset({MODIFIED, MISSING, INSERTED})


class VerifyOnly(RuntimeError):
    """Raised when sealing is asked of a chain configured with a public key only."""


def _field(value: bytes | None) -> bytes:
    return _NULL if value is None else len(value).to_bytes(8, "big") + value


def _int(value: int) -> bytes:
    return value.to_bytes(8, "big", signed=True)


def leaf_hash(
    notification_id: int,
    originator_id: UUID,
    originator_version: int,
    topic: str | None,
    state: bytes | None,
) -> bytes:
    h = hashlib.sha256()
    for part in (
        LEAF_TAG,
        _int(notification_id),
        originator_id.bytes,
        _int(originator_version),
        topic.encode() if topic is not None else None,
        bytes(state) if state is not None else None,
    ):
        h.update(_field(part))
    return h.digest()


def block_root(prev_root: bytes, block_no: int, leaves: bytes) -> bytes:
    return hashlib.sha256(prev_root + _int(block_no) + leaves).digest()


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True)
class Block:
    block_no: int
    first_notification_id: int
    last_notification_id: int
    event_count: int
    notification_ids: list[int]
    leaf_hashes: bytes
    prev_root: bytes
    root: bytes
    signature: bytes
    key_fingerprint: str

    def leaf(self, i: int) -> bytes:
        return self.leaf_hashes[i * HASH_SIZE : (i + 1) * HASH_SIZE]


@dataclass(frozen=True)
class SealResult:
    blocks_sealed: int
    events_sealed: int
    last_block_no: int | None  # the chain's last block after sealing (None: nothing sealed ever)
    last_notification_id: int  # the last sealed notification id (0: none)
    root: bytes | None  # the chain's latest root


@dataclass(frozen=True)
class Problem:
    notification_id: int | None
    kind: str
    message: str
    block_no: int | None = None


@dataclass
class VerifyReport:
    blocks_checked: int = 0
    events_checked: int = 0
    unsealed_tail: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first `max_problems`, in order
    last_notification_id: int = 0
    last_root: bytes | None = None
    key_fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None


_BLOCK_COLUMNS = (
    "block_no, first_notification_id, last_notification_id, event_count, notification_ids, "
    "leaf_hashes, prev_root, root, signature, key_fingerprint"
)


def _scalar(conn: Connection[Any], query: Any, params: tuple[Any, ...] = ()) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _block(row: tuple[Any, ...]) -> Block:
    no, first, last, count, ids, leaves, prev_root, root, signature, fp = row
    return Block(
        no,
        first,
        last,
        count,
        list(ids or []),
        bytes(leaves or b""),
        bytes(prev_root or b""),
        bytes(root or b""),
        bytes(signature or b""),
        fp or "",
    )


class AuditChain:
    """Seals the event log into signed, chained blocks and verifies them.

    `key`: the Ed25519 private key to seal and verify, or a public key to verify only.
    """

    def __init__(
        self,
        pool: ConnectionPool,
        key: Ed25519PrivateKey | Ed25519PublicKey,
        block_size: int = 1000,
        events_table: str = EVENTS_TABLE,
        page_size: int = 500,
        max_problems: int = 100,
    ) -> None:
        if block_size < 1 or page_size < 1:
            raise ValueError("block_size and page_size must be positive")
        self.pool = pool
        self._private = key if isinstance(key, Ed25519PrivateKey) else None
        self.public_key: Ed25519PublicKey = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
        self.fingerprint = fingerprint(self.public_key)
        self.block_size = block_size
        self.page_size = page_size
        self.max_problems = max_problems
        table = sql.Identifier(events_table)
        self._select_events = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
            "WHERE notification_id > %s AND notification_id <= %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(table)
        self._count_events = sql.SQL(
            "SELECT count(*) FROM {} WHERE notification_id > %s AND notification_id <= %s"
        ).format(table)
        self._count_tail = sql.SQL("SELECT count(*) FROM {} WHERE notification_id > %s").format(table)
        self._max_id = sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(table)

    # -- reading ---------------------------------------------------------------------------

    def _events(
        self, conn: Connection[Any], after: int, upto: int, limit: int | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """Events with after < notification_id <= upto in order, read page by page."""
        remaining = limit
        while remaining is None or remaining > 0:
            n = self.page_size if remaining is None else min(self.page_size, remaining)
            rows = conn.execute(self._select_events, (after, upto, n)).fetchall()
            yield from rows
            if len(rows) < n:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def _blocks(self, conn: Connection[Any], page: int = 20) -> Iterator[Block]:
        after = -1
        while True:
            rows = conn.execute(
                f"SELECT {_BLOCK_COLUMNS} FROM audit_blocks WHERE block_no > %s ORDER BY block_no LIMIT %s",
                (after, page),
            ).fetchall()
            for row in rows:
                yield _block(row)
            if len(rows) < page:
                return
            after = rows[-1][0]

    @staticmethod
    def _tip(conn: Connection[Any]) -> Block | None:
        row = conn.execute(f"SELECT {_BLOCK_COLUMNS} FROM audit_blocks ORDER BY block_no DESC LIMIT 1").fetchone()
        return _block(row) if row else None

    def tip(self) -> Block | None:
        """The last sealed block, if any."""
        with self.pool.connection() as conn:
            return self._tip(conn)

    # -- sealing ---------------------------------------------------------------------------

    def seal(self, progress: Progress | None = None, stop: threading.Event | None = None) -> SealResult:
        """Seal every event up to the current max notification id, block by block."""
        if self._private is None:
            raise VerifyOnly("This audit chain has a public key only; it cannot seal.")
        with self.pool.connection() as conn:
            head = _scalar(conn, self._max_id)
            tip = self._tip(conn)
            start = tip.last_notification_id if tip else 0
            total = _scalar(conn, self._count_events, (start, head)) if progress else 0
        blocks = events = 0
        while stop is None or not stop.is_set():
            block = self._seal_block(head)
            if block is None:
                break
            tip = block
            blocks += 1
            events += block.event_count
            if progress is not None:
                progress(events, max(total, events))
        return SealResult(
            blocks_sealed=blocks,
            events_sealed=events,
            last_block_no=tip.block_no if tip else None,
            last_notification_id=tip.last_notification_id if tip else 0,
            root=tip.root if tip else None,
        )

    def _seal_block(self, head: int) -> Block | None:
        """Seal the next block of events up to `head` in one transaction; None if none left."""
        assert self._private is not None
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            tip = self._tip(conn)
            after = tip.last_notification_id if tip else 0
            ids: list[int] = []
            leaves = bytearray()
            for row in self._events(conn, after, head, limit=self.block_size):
                ids.append(row[0])
                leaves += leaf_hash(*row)
            if not ids:
                return None
            block_no = tip.block_no + 1 if tip else 0
            prev_root = tip.root if tip else GENESIS_ROOT
            root = block_root(prev_root, block_no, bytes(leaves))
            block = Block(
                block_no,
                ids[0],
                ids[-1],
                len(ids),
                ids,
                bytes(leaves),
                prev_root,
                root,
                self._private.sign(root),
                self.fingerprint,
            )
            conn.execute(
                f"INSERT INTO audit_blocks ({_BLOCK_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    block.block_no,
                    block.first_notification_id,
                    block.last_notification_id,
                    block.event_count,
                    block.notification_ids,
                    block.leaf_hashes,
                    block.prev_root,
                    block.root,
                    block.signature,
                    block.key_fingerprint,
                ),
            )
            return block

    # -- verifying -------------------------------------------------------------------------

    def verify(self, progress: Progress | None = None) -> VerifyReport:
        """Check every block, the chain between them and every sealed event, in one snapshot."""
        report = VerifyReport(key_fingerprint=self.fingerprint)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            total = _scalar(conn, "SELECT sum(event_count) FROM audit_blocks")
            prev_root, prev_last, expected_no = GENESIS_ROOT, 0, 0
            for block in self._blocks(conn):
                found = self._check_block(block, expected_no, prev_root, prev_last)
                if not any(p.kind == CORRUPT_BLOCK for p in found):
                    found += self._check_events(conn, block, prev_last, report)
                # A block's own problems concern its whole range: they come first.
                found.sort(key=lambda p: (p.kind in EVENT_KINDS, p.notification_id or 0))
                for problem in found:
                    self._add(report, problem)
                report.blocks_checked += 1
                prev_root, prev_last = block.root, block.last_notification_id
                expected_no = block.block_no + 1
                if progress is not None:
                    progress(report.events_checked, max(total, report.events_checked))
            report.last_notification_id = prev_last
            report.last_root = prev_root if report.blocks_checked else None
            report.unsealed_tail = _scalar(conn, self._count_tail, (prev_last,))
        return report

    def _add(self, report: VerifyReport, problem: Problem) -> None:
        report.problem_count += 1
        if len(report.problems) < self.max_problems:
            report.problems.append(problem)

    def _check_block(self, block: Block, expected_no: int, prev_root: bytes, prev_last: int) -> list[Problem]:
        at, no = block.first_notification_id, block.block_no
        found: list[Problem] = []
        if no != expected_no or block.prev_root != prev_root:
            what = (
                f"block {expected_no} is missing"
                if no != expected_no
                else f"its prev_root does not match block {no - 1}'s root"
            )
            found.append(Problem(at, CHAIN_BROKEN, f"chain broken at block {no}: {what}", no))
        ids = block.notification_ids
        if (
            block.event_count != len(ids)
            or len(block.leaf_hashes) != HASH_SIZE * len(ids)
            or not ids
            or ids[0] != block.first_notification_id
            or ids[-1] != block.last_notification_id
            or ids[0] <= prev_last
            or any(a >= b for a, b in itertools.pairwise(ids))
        ):
            found.append(
                Problem(
                    at,
                    CORRUPT_BLOCK,
                    f"block {no} is inconsistent: its ids, counts and leaf hashes do not agree",
                    no,
                )
            )
        if block_root(block.prev_root, no, block.leaf_hashes) != block.root:
            found.append(
                Problem(
                    at,
                    ROOT_MISMATCH,
                    f"block {no}'s leaf hashes do not hash to its sealed root (the block was edited)",
                    no,
                )
            )
        try:
            self.public_key.verify(block.signature, block.root)
        except InvalidSignature:
            signer = (
                f"it was signed by key {block.key_fingerprint}"
                if block.key_fingerprint != self.fingerprint
                else "the block was edited"
            )
            message = f"block {no}'s signature does not verify with key {self.fingerprint} ({signer})"
            found.append(Problem(at, BAD_SIGNATURE, message, no))
        return found

    def _check_events(self, conn: Connection[Any], block: Block, after: int, report: VerifyReport) -> list[Problem]:
        """Merge the events now in (after, last] with the ids sealed in the block."""
        ids, no, i = block.notification_ids, block.block_no, 0
        found: list[Problem] = []

        def missing(nid: int) -> Problem:
            return Problem(
                nid,
                MISSING,
                f"event {nid} is missing (sealed in block {no}, no longer in the event store)",
                no,
            )

        for nid, originator_id, version, topic, state in self._events(conn, after, block.last_notification_id):
            while i < len(ids) and ids[i] < nid:
                found.append(missing(ids[i]))
                i += 1
            if i < len(ids) and ids[i] == nid:
                if leaf_hash(nid, originator_id, version, topic, state) != block.leaf(i):
                    found.append(
                        Problem(
                            nid,
                            MODIFIED,
                            f"event {nid} ({topic}) stored bytes no longer match the sealed hash",
                            no,
                        )
                    )
                i += 1
            else:
                found.append(
                    Problem(
                        nid,
                        INSERTED,
                        f"event {nid} ({topic}) was inserted: it lies inside sealed block {no} but was not sealed",
                        no,
                    )
                )
        found += [missing(nid) for nid in ids[i:]]
        report.events_checked += len(ids)
        return found


def seal_periodically(chain: AuditChain, stop_event: threading.Event, interval: float = 5.0) -> None:
    """Follow the log: seal what is new every `interval` seconds until `stop_event` is set.

    Meant for a daemon thread in the server. Errors (a database restart, a failover) are
    logged and retried on the next tick; the sealer's position lives in audit_blocks, so
    nothing is lost or sealed twice.
    """
    while not stop_event.is_set():
        try:
            result = chain.seal(stop=stop_event)
            if result.events_sealed:
                log.info(
                    "audit chain sealed %d events in %d blocks (up to %d)",
                    result.events_sealed,
                    result.blocks_sealed,
                    result.last_notification_id,
                )
        except Exception:
            log.exception("audit sealing failed; retrying in %.1fs", interval)
        stop_event.wait(interval)
