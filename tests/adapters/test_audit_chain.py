"""The audit chain against a real event store: seal, verify, and tamper with rows directly."""

from __future__ import annotations

import itertools
import threading
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.audit_chain import (
    BAD_SIGNATURE,
    CHAIN_BROKEN,
    GENESIS_ROOT,
    INSERTED,
    MISSING,
    MODIFIED,
    ROOT_MISMATCH,
    AuditChain,
    SealResult,
    VerifyOnly,
    block_root,
    leaf_hash,
    seal_periodically,
)
from application import audit
from interfaces.container import Container
from tests.support import acting_as, open_practice

BLOCK = 3


def populate(container: Container, clients: int = 3) -> tuple[UUID, list[UUID]]:
    """A practice, `clients` clients, and a status change for each: several events apiece."""
    with audit.acting(audit.system("system:test")):
        practice_id = open_practice(container, "Audit Care", "audit-care", "Europe/London")
        ids = []
        for i in range(clients):
            saved = container.clients.register(
                practice_id,
                "basic",
                {"first_name": f"Ann{i}", "last_name": "Lee", "date_of_birth": date(1950, 1, 1 + i)},
            )
            container.clients.change_status(practice_id, saved.id, "inactive", "moved", None)
            ids.append(saved.id)
    return practice_id, ids


def more_events(container: Container, practice_id: UUID, client_id: UUID) -> None:
    with audit.acting(audit.system("system:test")):
        container.clients.change_status(practice_id, client_id, "active", "returned", None)
        container.clients.change_care_level(practice_id, client_id, "intensive")


def execute(container: Container, query: str, params: tuple[Any, ...] | None = None) -> list[Any]:
    with container.pool.connection() as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def event_ids(container: Container) -> list[int]:
    rows = execute(container, "SELECT notification_id FROM careledger_events ORDER BY 1")
    return [r[0] for r in rows]


@pytest.fixture
def container(isolated_container: Container) -> Container:
    return isolated_container


@pytest.fixture
def chain(container: Container) -> AuditChain:
    return AuditChain(container.pool, container.secrets.audit_signing_key, block_size=BLOCK)


@pytest.fixture
def sealed(container: Container, chain: AuditChain) -> tuple[UUID, list[UUID], list[int]]:
    practice_id, clients = populate(container)
    chain.seal()
    return practice_id, clients, event_ids(container)


def test_leaf_encoding_is_unambiguous() -> None:
    oid = UUID(int=7)
    base = leaf_hash(1, oid, 1, "ab", b"c")
    assert base != leaf_hash(1, oid, 1, "a", b"bc")
    assert base != leaf_hash(2, oid, 1, "ab", b"c")
    assert base != leaf_hash(1, oid, 2, "ab", b"c")
    assert base != leaf_hash(1, UUID(int=8), 1, "ab", b"c")
    assert leaf_hash(1, oid, 1, None, b"") != leaf_hash(1, oid, 1, "", b"")
    assert leaf_hash(1, oid, 1, "t", None) != leaf_hash(1, oid, 1, "t", b"")
    assert len(base) == 32


def test_seal_then_verify_ok(container: Container, chain: AuditChain) -> None:
    populate(container)
    ids = event_ids(container)
    assert len(ids) > 2 * BLOCK  # several blocks, the last one partial

    result = chain.seal()

    blocks = -(-len(ids) // BLOCK)
    assert result.events_sealed == len(ids)
    assert result.blocks_sealed == blocks
    assert result.last_notification_id == ids[-1]
    rows = execute(
        container,
        "SELECT block_no, notification_ids, event_count, length(leaf_hashes), prev_root, root "
        "FROM audit_blocks ORDER BY block_no",
    )
    assert [r[0] for r in rows] == list(range(blocks))
    assert [i for r in rows for i in r[1]] == ids
    assert all(r[2] * 32 == r[3] for r in rows)
    assert bytes(rows[0][4]) == GENESIS_ROOT
    assert all(bytes(b[4]) == bytes(a[5]) for a, b in itertools.pairwise(rows))

    seen: list[tuple[int, int]] = []
    report = chain.verify(progress=lambda done, total: seen.append((done, total)))
    assert report.ok, report.problems
    assert report.first_problem is None
    assert (report.blocks_checked, report.events_checked, report.unsealed_tail) == (
        blocks,
        len(ids),
        0,
    )
    assert report.last_root == bytes(rows[-1][5])
    assert seen[-1] == (len(ids), len(ids))


def test_tail_is_reported_then_sealing_continues_the_chain(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    practice_id, clients, before = sealed
    tip = chain.tip()
    assert tip is not None

    more_events(container, practice_id, clients[0])
    report = chain.verify()
    assert report.ok
    assert report.unsealed_tail == 2
    assert report.events_checked == len(before)

    result = chain.seal()
    assert (result.events_sealed, result.blocks_sealed) == (2, 1)
    new_tip = chain.tip()
    assert new_tip is not None
    assert new_tip.block_no == tip.block_no + 1
    assert new_tip.prev_root == tip.root
    assert new_tip.root == block_root(tip.root, new_tip.block_no, new_tip.leaf_hashes)

    report = chain.verify()
    assert report.ok
    assert (report.unsealed_tail, report.events_checked) == (0, len(before) + 2)
    assert chain.seal() == SealResult(
        0, 0, new_tip.block_no, new_tip.last_notification_id, new_tip.root
    )  # nothing new: no empty block


def test_updated_row_is_named_as_modified(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    ids = sealed[2]
    target = ids[len(ids) // 2]
    execute(
        container,
        "UPDATE careledger_events SET state = state || 'x'::bytea WHERE notification_id = %s",
        (target,),
    )
    topic = execute(container, "SELECT topic FROM careledger_events WHERE notification_id = %s", (target,))[0][0]

    report = chain.verify()

    assert not report.ok
    assert report.problem_count == 1
    problem = report.first_problem
    assert problem is not None
    assert (problem.notification_id, problem.kind) == (target, MODIFIED)
    assert problem.message == (f"event {target} ({topic}) stored bytes no longer match the sealed hash")


def test_edited_topic_or_version_is_modified_too(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    ids = sealed[2]
    execute(container, "UPDATE careledger_events SET topic = topic || '2' WHERE notification_id = %s", (ids[1],))
    report = chain.verify()
    assert report.first_problem is not None
    assert (report.first_problem.notification_id, report.first_problem.kind) == (ids[1], MODIFIED)


def test_the_first_problem_in_notification_order_is_named(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    ids = sealed[2]
    execute(container, "DELETE FROM careledger_events WHERE notification_id = %s", (ids[-1],))
    execute(container, "UPDATE careledger_events SET state = state || 'x'::bytea WHERE notification_id = %s", (ids[2],))

    report = chain.verify()

    assert report.problem_count == 2
    assert [(p.notification_id, p.kind) for p in report.problems] == [
        (ids[2], MODIFIED),
        (ids[-1], MISSING),
    ]


def test_deleted_row_is_named_as_missing(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    ids = sealed[2]
    target = ids[BLOCK + 1]
    execute(container, "DELETE FROM careledger_events WHERE notification_id = %s", (target,))

    report = chain.verify()

    assert not report.ok
    assert report.problem_count == 1
    problem = report.first_problem
    assert problem is not None
    assert (problem.notification_id, problem.kind, problem.block_no) == (target, MISSING, 1)
    assert problem.message.startswith(f"event {target} is missing")
    assert report.events_checked == len(ids)


def test_id_gaps_are_sealed_and_a_row_put_into_one_is_named_inserted(container: Container, chain: AuditChain) -> None:
    populate(container)
    ids = event_ids(container)
    target = ids[5]
    row = execute(
        container,
        "DELETE FROM careledger_events WHERE notification_id = %s "
        "RETURNING originator_id, originator_version, topic, state, notification_id",
        (target,),
    )[0]
    chain.seal()  # a gap, as a rolled-back transaction leaves one
    assert chain.verify().ok

    execute(
        container,
        "INSERT INTO careledger_events "
        "(originator_id, originator_version, topic, state, notification_id) "
        "VALUES (%s, %s, %s, %s, %s)",
        row,
    )
    report = chain.verify()

    assert report.problem_count == 1
    problem = report.first_problem
    assert problem is not None
    assert (problem.notification_id, problem.kind) == (target, INSERTED)


def test_edited_leaf_hashes_break_the_block_root(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    execute(
        container,
        "UPDATE audit_blocks SET leaf_hashes = "
        "set_byte(leaf_hashes, 0, (get_byte(leaf_hashes, 0) + 1) % 256) WHERE block_no = 1",
    )

    report = chain.verify()

    assert not report.ok
    problem = report.first_problem
    assert problem is not None
    assert (problem.kind, problem.block_no) == (ROOT_MISMATCH, 1)


def test_a_block_rehashed_after_editing_fails_its_signature_and_the_chain(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    tip = chain.tip()
    assert tip is not None
    assert tip.block_no >= 2
    (prev_root, leaves) = execute(container, "SELECT prev_root, leaf_hashes FROM audit_blocks WHERE block_no = 1")[0]
    forged = bytes(32) + bytes(leaves)[32:]
    root = block_root(bytes(prev_root), 1, forged)
    execute(
        container,
        "UPDATE audit_blocks SET leaf_hashes = %s, root = %s WHERE block_no = 1",
        (forged, root),
    )

    report = chain.verify()

    kinds = [(p.block_no, p.kind) for p in report.problems]
    assert kinds[0] == (1, BAD_SIGNATURE)
    assert (2, CHAIN_BROKEN) in kinds


def test_edited_root_fails_the_signature(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    execute(container, "UPDATE audit_blocks SET root = sha256(root) WHERE block_no = 0")

    report = chain.verify()

    assert {p.kind for p in report.problems if p.block_no == 0} == {ROOT_MISMATCH, BAD_SIGNATURE}
    assert (1, CHAIN_BROKEN) in [(p.block_no, p.kind) for p in report.problems]


def test_a_deleted_block_breaks_the_chain(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    execute(container, "DELETE FROM audit_blocks WHERE block_no = 1")

    report = chain.verify()

    problem = report.first_problem
    assert problem is not None
    assert (problem.block_no, problem.kind) == (2, CHAIN_BROKEN)
    assert "block 1 is missing" in problem.message
    # and the deleted block's events now sit unsealed inside the sealed range
    assert (sealed[2][BLOCK], INSERTED) in [(p.notification_id, p.kind) for p in report.problems]


def test_a_different_public_key_does_not_verify(
    container: Container, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    stranger = AuditChain(container.pool, Ed25519PrivateKey.generate().public_key())

    report = stranger.verify()

    assert not report.ok
    problem = report.first_problem
    assert problem is not None
    assert (problem.kind, problem.block_no) == (BAD_SIGNATURE, 0)


def test_the_public_key_alone_verifies_but_cannot_seal(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    auditor = AuditChain(container.pool, chain.public_key)
    assert auditor.fingerprint == chain.fingerprint
    assert auditor.verify().ok
    with pytest.raises(VerifyOnly):
        auditor.seal()


def test_a_crypto_shredded_client_still_verifies(
    container: Container, chain: AuditChain, sealed: tuple[UUID, list[UUID], list[int]]
) -> None:
    practice_id, clients, _ = sealed
    admin = audit.AuditContext(actor_id="u1", actor_role="admin", practice_id=practice_id)
    with acting_as(admin):
        container.clients.erase(practice_id, clients[1], "client_request")
    shredded = execute(container, "SELECT wrapped_key FROM phi_keys WHERE subject_id = %s", (clients[1],))
    assert shredded == [(None,)]

    report = chain.verify()
    assert report.ok
    assert report.unsealed_tail == 1

    chain.seal()
    report = chain.verify()
    assert report.ok
    assert report.unsealed_tail == 0


def test_concurrent_sealers_seal_each_event_once(container: Container) -> None:
    populate(container, clients=6)
    ids = event_ids(container)
    chains = [AuditChain(container.pool, container.secrets.audit_signing_key, block_size=3) for _ in range(4)]
    start = threading.Barrier(len(chains))
    results: list[SealResult] = []

    def run(chain: AuditChain) -> None:
        start.wait()
        results.append(chain.seal())

    threads = [threading.Thread(target=run, args=(c,)) for c in chains]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(r.events_sealed for r in results) == len(ids)
    report = chains[0].verify()
    assert report.ok
    assert report.events_checked == len(ids)


def test_small_pages_read_the_same(container: Container, sealed: tuple[UUID, list[UUID], list[int]]) -> None:
    paged = AuditChain(container.pool, container.secrets.audit_signing_key, block_size=BLOCK, page_size=1)
    report = paged.verify()
    assert report.ok
    assert report.events_checked == len(sealed[2])


def test_periodic_sealer_follows_the_log(container: Container, chain: AuditChain) -> None:
    populate(container)
    stop = threading.Event()
    calls: list[SealResult] = []

    class Recording:
        def seal(self, stop: threading.Event | None = None) -> SealResult:
            result = chain.seal(stop=stop)
            calls.append(result)
            if len(calls) == 2:
                assert stop is not None
                stop.set()
            return result

    seal_periodically(Recording(), stop, interval=0)  # type: ignore[arg-type]

    assert [c.events_sealed for c in calls] == [len(event_ids(container)), 0]
    assert chain.verify().ok


def test_periodic_sealer_survives_errors(caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()
    attempts: list[int] = []

    class Flaky:
        def seal(self, stop: threading.Event | None = None) -> SealResult:
            attempts.append(1)
            if len(attempts) == 1:
                raise ConnectionError("database restarting")
            assert stop is not None
            stop.set()
            return SealResult(0, 0, None, 0, None)

    seal_periodically(Flaky(), stop, interval=0)  # type: ignore[arg-type]

    assert len(attempts) == 2
    assert "audit sealing failed" in caplog.text
