"""The composition root: the one place that picks concrete adapters and wires them up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

import redis
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from psycopg_pool import ConnectionPool

from adapters.audit_chain import AuditChain
from adapters.blind_index import BlindIndex
from adapters.clock import SystemClock
from adapters.database import eventsourcing_env, migrate, resolve_database_url
from adapters.keystore import PostgresKeyStore
from adapters.mail import RecordingMailer, SmtpMailer, mailer_from_env
from adapters.passwords import Argon2Credentials
from adapters.projection_runner import LiveProjections, ProjectionRunner
from adapters.rate_limit import RedisRateLimiter
from adapters.secrets import Secrets, load_secrets
from adapters.session_activity import RedisSessionActivity
from adapters.settings import Settings
from application.audit_trail import AuditTrail
from application.clients import ClientService
from application.identity.accounts import AccountService
from application.identity.members import MemberService
from application.identity.policy import IdentityPolicy
from application.ports import Clock
from application.practices import PracticeService
from application.store import EventStore
from projections.access_alerts import AccessAlerts, AccessAlertsView
from projections.base import View
from projections.client_directory import ClientDirectory, ClientDirectoryView
from projections.member_directory import MemberDirectory, MemberDirectoryView

PROJECTIONS: dict[str, tuple[type[Any], type[View]]] = {
    ClientDirectory.name: (ClientDirectory, ClientDirectoryView),
    MemberDirectory.name: (MemberDirectory, MemberDirectoryView),
    AccessAlerts.name: (AccessAlerts, AccessAlertsView),
}


@dataclass
class Container:
    settings: Settings = field(default_factory=Settings)
    database_url: str = ""
    live: LiveProjections | None = None
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        if not self.database_url:
            self.database_url = resolve_database_url(self.settings)

    def migrate(self) -> int:
        return migrate(self.database_url)

    @cached_property
    def secrets(self) -> Secrets:
        return load_secrets(self.settings)

    @cached_property
    def env(self) -> dict[str, str]:
        return eventsourcing_env(self.database_url, self.settings)

    @cached_property
    def pool(self) -> ConnectionPool:
        return ConnectionPool(self.database_url, min_size=1, max_size=8, open=True)

    @cached_property
    def keystore(self) -> PostgresKeyStore:
        return PostgresKeyStore(self.pool, self.secrets.master_key)

    @cached_property
    def store(self) -> EventStore:
        return EventStore(self.env, cipher=self.keystore)

    @cached_property
    def blind_index(self) -> BlindIndex:
        return BlindIndex(self.keystore, self.secrets.master_key)

    @cached_property
    def practices(self) -> PracticeService:
        return PracticeService(self.store)

    @cached_property
    def clients(self) -> ClientService:
        return ClientService(self.store)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_address, socket_connect_timeout=2, socket_timeout=2)

    @cached_property
    def rate_limiter(self) -> RedisRateLimiter:
        return RedisRateLimiter(self.redis, prefix=f"{self.settings.redis_prefix}:rl")

    @cached_property
    def identity_policy(self) -> IdentityPolicy:
        s = self.settings
        return IdentityPolicy(
            access_ttl=timedelta(minutes=s.access_token_minutes),
            refresh_ttl=timedelta(days=s.refresh_token_days),
            staff_idle_timeout=timedelta(minutes=s.staff_idle_minutes),
            public_url=s.public_url,
        )

    @cached_property
    def accounts(self) -> AccountService:
        activity = RedisSessionActivity(self.redis, prefix=f"{self.settings.redis_prefix}:session")
        return AccountService(
            self.store, Argon2Credentials(), activity, self.clock, self.mailer, self.identity_policy
        )

    @cached_property
    def members(self) -> MemberService:
        return MemberService(self.store, Argon2Credentials(), self.clock, self.mailer, self.identity_policy)

    @cached_property
    def audit_trail(self) -> AuditTrail:
        return AuditTrail(self.store)

    def view(self, name: str) -> View:
        return self.runner(name).view

    @cached_property
    def _runners(self) -> dict[str, ProjectionRunner]:
        runners = {}
        for name, (projection_cls, view_cls) in PROJECTIONS.items():
            env = Environment(name, {**self.env, "POSTGRES_POOL_SIZE": "2"})
            view = InfrastructureFactory.construct(env=env).tracking_recorder(view_cls)
            if isinstance(view, ClientDirectoryView):
                view.index = self.blind_index
            runners[name] = ProjectionRunner(self.store, projection_cls(view=view))
        return runners

    def runner(self, name: str) -> ProjectionRunner:
        try:
            return self._runners[name]
        except KeyError:
            raise KeyError(f"No projection {name!r}; known: {', '.join(PROJECTIONS)}") from None

    @property
    def runners(self) -> list[ProjectionRunner]:
        return list(self._runners.values())

    @cached_property
    def client_directory(self) -> ClientDirectoryView:
        view = self.view(ClientDirectory.name)
        assert isinstance(view, ClientDirectoryView)
        return view

    @cached_property
    def member_directory(self) -> MemberDirectoryView:
        view = self.view(MemberDirectory.name)
        assert isinstance(view, MemberDirectoryView)
        return view

    @cached_property
    def access_alerts(self) -> AccessAlertsView:
        view = self.view(AccessAlerts.name)
        assert isinstance(view, AccessAlertsView)
        return view

    @cached_property
    def mailer(self) -> SmtpMailer | RecordingMailer:
        """SMTP when CARELEDGER_SMTP_HOST is set; otherwise mail is recorded (dev outbox)."""
        return mailer_from_env(self.settings, self.pool)

    @cached_property
    def audit_chain(self) -> AuditChain:
        return AuditChain(self.pool, self.secrets.audit_signing_key)

    def live_projections(self) -> LiveProjections:
        return LiveProjections(self.runners, self.database_url)

    def close(self) -> None:
        for runner in self.__dict__.get("_runners", {}).values():
            runner.view.datastore.close()
        if "store" in self.__dict__:
            self.store.close()
        if "pool" in self.__dict__:
            self.pool.close()
        if "redis" in self.__dict__:
            self.redis.close()
