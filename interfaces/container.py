"""The composition root: the one place that picks concrete adapters and wires them up."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

import redis
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.postgres import PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment
from psycopg_pool import ConnectionPool

from adapters.aggregate_batches import BatchLoader
from adapters.audit_chain import AuditChain
from adapters.blind_index import BlindIndex
from adapters.clock import SystemClock
from adapters.database import eventsourcing_env, migrate, resolve_database_url
from adapters.keystore import PostgresKeyStore
from adapters.mail import RecordingMailer, SmtpMailer, mailer_from_env
from adapters.object_store import object_store_from_settings
from adapters.passwords import Argon2Credentials
from adapters.pdf_documents import FpdfDocumentRenderer
from adapters.phone_index import PhoneIndex
from adapters.projection_runner import LiveProjections, ProjectionRunner
from adapters.rate_limit import RedisRateLimiter
from adapters.secrets import Secrets, load_secrets
from adapters.session_activity import RedisSessionActivity
from adapters.settings import Settings
from adapters.stripe_payments import StripeCardPayments
from adapters.twilio_sms import TwilioSms
from application.audit_trail import AuditTrail
from application.billing.card_checkout import CardCheckoutService
from application.billing.charges import ChargeService
from application.billing.fee_schedules import FeeScheduleService
from application.billing.invoices import InvoiceService
from application.billing.payments import PaymentService
from application.billing.reports import BillingReportService
from application.clients import ClientService
from application.clinical.note_templates import NoteTemplateService
from application.clinical.notes import NoteService
from application.compliance import ComplianceService
from application.dashboards import DashboardService
from application.digests import DigestReads, DigestService
from application.identity.accounts import AccountService
from application.identity.members import MemberService
from application.identity.policy import IdentityPolicy
from application.messaging.inbound_sms import InboundSmsService
from application.object_store import ObjectStore
from application.ports import Clock
from application.practices import PracticeService
from application.reminders import ReminderService
from application.remittance import ClientPatients, RemittanceService
from application.scheduling.booking import SchedulingService
from application.scheduling.calendar_export import CalendarExportService, CalendarFeedService
from application.scheduling.front_desk import FrontDeskService
from application.scheduling.waitlist import WaitlistService
from application.store import EventStore
from application.supervision import SupervisionService
from domain.billing.invoice_sequence import InvoiceSequence
from domain.compliance.rules import RULESETS, RuleSetVersions
from domain.reminders.reminder import RetryPolicy
from domain.scheduling.schedule import ClinicianSchedule
from domain.scheduling.waitlist import Waitlist
from projections.access_alerts import AccessAlerts, AccessAlertsView
from projections.appointment_book import AppointmentBook, AppointmentBookView
from projections.attendance_metrics import AttendanceMetrics, AttendanceMetricsView
from projections.base import View
from projections.billing_ledger import BillingLedger, BillingLedgerView
from projections.billing_reports import BillingReports, BillingReportsView, ClientDirectoryNames
from projections.client_directory import ClientDirectory, ClientDirectoryView
from projections.clinical_notes import ClinicalNotes, ClinicalNotesView
from projections.compliance.documentation import DocumentationMetrics
from projections.compliance.projection import Compliance, ComplianceView
from projections.front_desk_tasks import FrontDeskTasks, FrontDeskTasksView
from projections.invoices import Invoices, InvoicesView
from projections.member_directory import MemberDirectory, MemberDirectoryView
from projections.reminder_schedule import ReminderSchedule, ReminderScheduleView
from projections.remittances import Remittances, RemittancesView
from projections.sms_routing import SmsRouting, SmsRoutingView
from projections.supervision_log import SupervisionLog, SupervisionLogView
from projections.waitlist import WaitlistProjection, WaitlistView

PROJECTIONS: dict[str, tuple[type[Any], type[View]]] = {
    ClientDirectory.name: (ClientDirectory, ClientDirectoryView),
    MemberDirectory.name: (MemberDirectory, MemberDirectoryView),
    AccessAlerts.name: (AccessAlerts, AccessAlertsView),
    WaitlistProjection.name: (WaitlistProjection, WaitlistView),
    AppointmentBook.name: (AppointmentBook, AppointmentBookView),
    AttendanceMetrics.name: (AttendanceMetrics, AttendanceMetricsView),
    ReminderSchedule.name: (ReminderSchedule, ReminderScheduleView),
    SmsRouting.name: (SmsRouting, SmsRoutingView),
    FrontDeskTasks.name: (FrontDeskTasks, FrontDeskTasksView),
    ClinicalNotes.name: (ClinicalNotes, ClinicalNotesView),
    SupervisionLog.name: (SupervisionLog, SupervisionLogView),
    Compliance.name: (Compliance, ComplianceView),
    BillingLedger.name: (BillingLedger, BillingLedgerView),
    Invoices.name: (Invoices, InvoicesView),
    BillingReports.name: (BillingReports, BillingReportsView),
    Remittances.name: (Remittances, RemittancesView),
}


_RUNNERS_LOCK = threading.Lock()  # guards building a container's runners on first use
# Connections opened above a pool's minimum close after this long idle (psycopg_pool keeps them 10 min).
IDLE_CONNECTION_SECONDS = 60.0


@dataclass
class Container:
    settings: Settings = field(default_factory=Settings)
    database_url: str = ""
    live: LiveProjections | None = None
    clock: Clock = field(default_factory=SystemClock)
    rulesets: RuleSetVersions = RULESETS
    """Every version of the compliance rules (domain/compliance/rules.py); tests pass their own."""

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
        store = EventStore(self.env, cipher=self.keystore, cached_types=(ClinicianSchedule, Waitlist, InvoiceSequence))
        datastore = getattr(store.recorder, "datastore", None)
        if isinstance(datastore, PostgresDatastore):
            datastore.pool.max_idle = IDLE_CONNECTION_SECONDS
        return store

    @cached_property
    def blind_index(self) -> BlindIndex:
        return BlindIndex(self.keystore, self.secrets.master_key)

    @cached_property
    def practices(self) -> PracticeService:
        return PracticeService(self.store, self.clock)

    @cached_property
    def clients(self) -> ClientService:
        return ClientService(self.store, self.clock)

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
        """The runners built so far: each on first use, so a process that runs or reads one read
        model does not hold connections for all of them."""
        return {}

    @cached_property
    def _views_datastore(self) -> PostgresDatastore:
        """One pool for every read model: runner batches and view reads share it, so a process
        holds a handful of connections however many read models it touches."""
        s = self.settings
        sizes = {"POSTGRES_POOL_SIZE": str(s.views_pool_size), "POSTGRES_MAX_OVERFLOW": str(s.views_pool_overflow)}
        env = Environment("views", {**self.env, **sizes})
        factory = InfrastructureFactory.construct(env=env)
        assert isinstance(factory, PostgresFactory)
        factory.datastore.pool.max_idle = IDLE_CONNECTION_SECONDS
        return factory.datastore

    def _build_runner(self, name: str) -> ProjectionRunner:
        projection_cls, view_cls = PROJECTIONS[name]
        view = view_cls(datastore=self._views_datastore, tracking_table_name=f"{name.lower()}_tracking")
        if isinstance(view, ClientDirectoryView):
            view.index = self.blind_index
        if isinstance(view, ComplianceView):
            view.rulesets = self.rulesets
        if isinstance(view, SmsRoutingView):
            view.index = self.phone_index
        return ProjectionRunner(self.store, projection_cls(view=view))

    def runner(self, name: str) -> ProjectionRunner:
        if name not in PROJECTIONS:
            raise KeyError(f"No projection {name!r}; known: {', '.join(PROJECTIONS)}")
        runners = self._runners
        if name not in runners:
            with _RUNNERS_LOCK:
                if name not in runners:
                    runners[name] = self._build_runner(name)
        return runners[name]

    @property
    def runners(self) -> list[ProjectionRunner]:
        return [self.runner(name) for name in PROJECTIONS]

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
    def waitlist_view(self) -> WaitlistView:
        view = self.view(WaitlistProjection.name)
        assert isinstance(view, WaitlistView)
        return view

    @cached_property
    def waitlist(self) -> WaitlistService:
        return WaitlistService(self.store, self.clock, self.waitlist_view)

    @cached_property
    def appointment_book(self) -> AppointmentBookView:
        view = self.view(AppointmentBook.name)
        assert isinstance(view, AppointmentBookView)
        return view

    @cached_property
    def attendance_metrics(self) -> AttendanceMetricsView:
        view = self.view(AttendanceMetrics.name)
        assert isinstance(view, AttendanceMetricsView)
        return view

    @cached_property
    def scheduling(self) -> SchedulingService:
        return SchedulingService(self.store, self.clock, freed=self.waitlist)

    @cached_property
    def calendar_feeds(self) -> CalendarFeedService:
        return CalendarFeedService(self.store, self.clock, self.scheduling)

    @cached_property
    def calendar_export(self) -> CalendarExportService:
        return CalendarExportService(
            self.store, self.clock, self.scheduling, self.calendar_feeds, self.appointment_book
        )

    @cached_property
    def reminder_schedule(self) -> ReminderScheduleView:
        view = self.view(ReminderSchedule.name)
        assert isinstance(view, ReminderScheduleView)
        return view

    @cached_property
    def sms(self) -> TwilioSms | None:
        """Twilio when CARELEDGER_TWILIO_ACCOUNT_SID, _AUTH_TOKEN and _FROM_NUMBER are set; None =
        SMS disabled (SMS-only reminders are then skipped as `sms_not_configured`)."""
        return TwilioSms.from_settings(self.settings)

    @cached_property
    def reminders(self) -> ReminderService:
        s = self.settings
        return ReminderService(
            self.store, self.clock, self.sms, self.mailer, self.reminder_schedule,
            lease=timedelta(seconds=s.reminder_lease_seconds), retry=RetryPolicy(max_attempts=s.reminder_max_attempts),
        )

    @cached_property
    def phone_index(self) -> PhoneIndex:
        return PhoneIndex(self.secrets.master_key)

    @cached_property
    def sms_routing(self) -> SmsRoutingView:
        view = self.view(SmsRouting.name)
        assert isinstance(view, SmsRoutingView)
        return view

    @cached_property
    def front_desk_tasks(self) -> FrontDeskTasksView:
        view = self.view(FrontDeskTasks.name)
        assert isinstance(view, FrontDeskTasksView)
        return view

    @cached_property
    def supervision_log(self) -> SupervisionLogView:
        view = self.view(SupervisionLog.name)
        assert isinstance(view, SupervisionLogView)
        return view

    @cached_property
    def supervision(self) -> SupervisionService:
        return SupervisionService(self.store, self.clock, self.supervision_log)

    @cached_property
    def compliance_view(self) -> ComplianceView:
        view = self.view(Compliance.name)
        assert isinstance(view, ComplianceView)
        return view

    @cached_property
    def compliance(self) -> ComplianceService:
        return ComplianceService(self.store, self.clock, self.compliance_view)

    @cached_property
    def documentation_metrics(self) -> DocumentationMetrics:
        return DocumentationMetrics(self.compliance_view)

    @cached_property
    def dashboards(self) -> DashboardService:
        return DashboardService(
            self.clock, self.attendance_metrics, self.documentation_metrics, self.compliance_view,
            self.member_directory, self.billing_reports,
        )

    @cached_property
    def digests(self) -> DigestService:
        """The daily digest and Monday weekly report mails (worker sweep `digests`)."""
        reads = DigestReads(self.member_directory, self.compliance_view, self.attendance_metrics,
                            self.appointment_book, self.clinical_notes)
        return DigestService(self.store, self.clock, self.mailer, reads)

    @cached_property
    def front_desk(self) -> FrontDeskService:
        return FrontDeskService(self.store, self.clock)

    @cached_property
    def notes(self) -> NoteService:
        return NoteService(self.store, self.clock)

    @cached_property
    def note_templates(self) -> NoteTemplateService:
        return NoteTemplateService(self.store)

    @cached_property
    def clinical_notes(self) -> ClinicalNotesView:
        view = self.view(ClinicalNotes.name)
        assert isinstance(view, ClinicalNotesView)
        return view

    @cached_property
    def inbound_sms(self) -> InboundSmsService:
        return InboundSmsService(self.store, self.clock, self.appointment_book, self.scheduling)

    @cached_property
    def mailer(self) -> SmtpMailer | RecordingMailer:
        """SMTP when CARELEDGER_SMTP_HOST is set; otherwise mail is recorded (dev outbox)."""
        return mailer_from_env(self.settings, self.pool)

    @cached_property
    def audit_chain(self) -> AuditChain:
        return AuditChain(self.pool, self.secrets.audit_signing_key)

    @cached_property
    def billing_ledger(self) -> BillingLedgerView:
        view = self.view(BillingLedger.name)
        assert isinstance(view, BillingLedgerView)
        return view

    @cached_property
    def fee_schedules(self) -> FeeScheduleService:
        return FeeScheduleService(self.store, self.clock)

    @cached_property
    def charges(self) -> ChargeService:
        return ChargeService(self.store, self.clock, self.fee_schedules, self.compliance, self.billing_ledger)

    @cached_property
    def payments(self) -> PaymentService:
        return PaymentService(self.store, self.clock, self.billing_ledger)

    @cached_property
    def document_renderer(self) -> FpdfDocumentRenderer:
        return FpdfDocumentRenderer()

    @cached_property
    def invoices_view(self) -> InvoicesView:
        view = self.view(Invoices.name)
        assert isinstance(view, InvoicesView)
        return view

    @cached_property
    def invoices(self) -> InvoiceService:
        return InvoiceService(self.store, self.clock, self.mailer, self.document_renderer, self.invoices_view)

    @cached_property
    def card_payments(self) -> StripeCardPayments | None:
        """Stripe when CARELEDGER_STRIPE_API_KEY and _WEBHOOK_SECRET are set; None = card
        payments disabled (the routes answer 503 card_payments_not_configured)."""
        return StripeCardPayments.from_settings(self.settings)

    @cached_property
    def card_checkout(self) -> CardCheckoutService:
        return CardCheckoutService(self.store, self.clock, self.card_payments, currency=self.settings.stripe_currency)

    @cached_property
    def billing_reports_view(self) -> BillingReportsView:
        view = self.view(BillingReports.name)
        assert isinstance(view, BillingReportsView)
        return view

    @cached_property
    def billing_reports(self) -> BillingReportService:
        """Aging, revenue, reconciliation, statements and revenue metrics (issue 6, item 4)."""
        return BillingReportService(self.store, self.clock, self.billing_reports_view, self.document_renderer,
                                    ClientDirectoryNames(self.client_directory))

    @cached_property
    def object_store(self) -> ObjectStore:
        """Raw uploads (835 files): a local folder, or S3 when CARELEDGER_OBJECT_STORE=s3."""
        return object_store_from_settings(self.settings)

    @cached_property
    def batch_loader(self) -> BatchLoader:
        return BatchLoader(self.store)

    @cached_property
    def remittances_view(self) -> RemittancesView:
        view = self.view(Remittances.name)
        assert isinstance(view, RemittancesView)
        return view

    @cached_property
    def remittances(self) -> RemittanceService:
        return RemittanceService(
            self.store, self.clock, self.object_store, self.billing_ledger, ClientPatients(self.batch_loader),
            aggregates=self.batch_loader, view=self.remittances_view,
        )

    def live_projections(self) -> LiveProjections:
        return LiveProjections(self.runners, self.database_url, separate=(Compliance.name,))

    def close(self) -> None:
        if "_views_datastore" in self.__dict__:
            self._views_datastore.close()
        if "store" in self.__dict__:
            self.store.close()
        if "pool" in self.__dict__:
            self.pool.close()
        if "redis" in self.__dict__:
            self.redis.close()
