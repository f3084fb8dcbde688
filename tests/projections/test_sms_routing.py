"""The SMS routing read model: practice numbers from settings, client phones as keyed hashes only."""

from __future__ import annotations

from typing import Any

from application import audit
from tests.messaging_support import SmsWorld, fresh_number


def test_practice_numbers_follow_the_settings(container: Any) -> None:
    world = SmsWorld.open(container)
    routing = container.sms_routing
    world.catch_up()
    assert routing.practice_for(world.sms_number) == world.pid

    moved = fresh_number()
    with audit.acting(world.ctx()):
        container.practices.change_settings(world.pid, {"sms_number": moved})
    world.catch_up()
    assert routing.practice_for(moved) == world.pid
    assert routing.practice_for(world.sms_number) is None

    with audit.acting(world.ctx()):
        container.practices.change_settings(world.pid, {"sms_number": None})
    world.catch_up()
    assert routing.practice_for(moved) is None


def test_a_practice_registered_with_a_number_routes_at_once(container: Any) -> None:
    number = fresh_number()
    with audit.acting(audit.system("system:test")):
        saved = container.practices.register("Numbered", f"numbered-{number[-8:]}", "America/Chicago",
                                             {"sms_number": number})
    container.runner("sms_routing").catch_up()
    assert container.sms_routing.practice_for(number) == saved.id


def test_client_phones_in_any_format_route_by_their_e164_hash(container: Any) -> None:
    world, other = SmsWorld.open(container), SmsWorld.open(container)
    routing = container.sms_routing
    a = world.client("(404) 555-0177")
    b = world.client("+1 404 555 0177")
    c = other.client("404.555.0177")
    world.client(None)
    world.catch_up()
    assert sorted(routing.clients_for(world.pid, "+14045550177")) == sorted([a, b])
    assert routing.clients_for(other.pid, "+14045550177") == [c]
    assert routing.clients_for(world.pid, "+14045550178") == []
    assert routing.clients_for(world.pid, "garbage") == []

    rows = container.sms_routing.query("SELECT * FROM sms_client_phones WHERE client_id = ANY(%s)", ([a, b, c],))
    assert len({r["phone_token"] for r in rows}) == 2  # the same number hashes apart per practice
    assert "5550177" not in repr(rows)


def test_a_changed_phone_reroutes_and_an_erased_client_disappears(container: Any) -> None:
    world = SmsWorld.open(container)
    routing = container.sms_routing
    client = world.client("+14045550188")
    with audit.acting(world.ctx()):
        container.clients.update_demographics(world.pid, client, {"phone": "+14045550199"})
    world.catch_up()
    assert routing.clients_for(world.pid, "+14045550188") == []
    assert routing.clients_for(world.pid, "+14045550199") == [client]

    with audit.acting(world.ctx()):
        container.clients.erase(world.pid, client, "client_request")
    world.catch_up()
    assert routing.clients_for(world.pid, "+14045550199") == []


def test_a_rebuild_gives_the_same_routes(isolated_container: Any) -> None:
    k = isolated_container
    world = SmsWorld.open(k)
    client = world.client("+14045550166")
    runner = k.runner("sms_routing")
    runner.catch_up()
    runner.reset()
    assert k.sms_routing.clients_for(world.pid, "+14045550166") == []
    runner.catch_up()
    assert k.sms_routing.clients_for(world.pid, "+14045550166") == [client]
    assert k.sms_routing.practice_for(world.sms_number) == world.pid
