"""Request and response bodies of scheduling: appointments, slots, schedules, calendars."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from interfaces.http.schemas import Strict

Code = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
Party = Literal["client", "practice"]


class AppointmentIn(Strict):
    client_id: UUID
    clinician_id: UUID
    appointment_type: str = Code
    starts_at: AwareDatetime = Field(description="With an offset, e.g. 2026-12-01T15:00:00-05:00")
    modality: Literal["in_person", "telehealth"] | None = None
    allow_outside_hours: bool = Field(
        default=False, description="Staff may book outside working hours (still never over another booking)."
    )
    waitlist_entry_id: UUID | None = Field(default=None, description="The waitlist offer this booking takes up.")


class SeriesIn(Strict):
    client_id: UUID
    clinician_id: UUID
    appointment_type: str = Code
    first_day: date
    start_time: time = Field(description="Local practice time, e.g. 10:00")
    frequency: Literal["weekly", "biweekly", "monthly"]
    count: int | None = Field(default=None, ge=1, le=104)
    until: date | None = None
    modality: Literal["in_person", "telehealth"] | None = None

    @model_validator(mode="after")
    def _one_end(self) -> SeriesIn:
        if (self.count is None) == (self.until is None):
            raise ValueError("give exactly one of count and until")
        return self


class SeriesOut(BaseModel):
    series_id: UUID
    appointment_ids: list[UUID]
    position: int


class CancelIn(Strict):
    by: Party = "practice"
    reason_code: str = Code


class RescheduleIn(Strict):
    starts_at: AwareDatetime
    clinician_id: UUID | None = None
    by: Party = "practice"
    reason_code: str = Code
    allow_outside_hours: bool = False


class AppointmentOut(BaseModel):
    id: UUID
    client_id: UUID
    clinician_id: UUID
    appointment_type: str
    modality: str
    starts_at: datetime
    ends_at: datetime
    status: str
    series_id: UUID | None
    rescheduled_from: UUID | None
    replacement_id: UUID | None
    booked_at: datetime
    cancelled_by: str | None
    late: bool
    attendance_unrecorded: bool
    version: int


class Slot(BaseModel):
    clinician_id: UUID
    starts_at: datetime
    ends_at: datetime


class SlotsOut(BaseModel):
    appointment_type: str
    time_zone: str
    slots: list[Slot]


class HoursIn(Strict):
    """Weekday (monday..sunday) -> [["09:00", "12:00"], ["13:00", "17:00"]], local practice time."""

    hours: dict[Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
                list[tuple[time, time]]]
    breaks: dict[Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
                 list[tuple[time, time]]] = Field(default_factory=dict)


class ClosureIn(Strict):
    first_day: date
    last_day: date | None = None
    reason_code: str = Field(default="closed", pattern=r"^[a-z][a-z0-9_]{1,39}$")


class HolidayIn(Strict):
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    reason_code: str = Field(default="holiday", pattern=r"^[a-z][a-z0-9_]{1,39}$")


class ScheduleOut(BaseModel):
    clinician_id: UUID
    time_zone: str
    hours: dict[str, list[tuple[time, time]]]
    breaks: dict[str, list[tuple[time, time]]]
    closures: list[tuple[date, date]]
    holidays: list[tuple[int, int]]


class AppointmentTypeIn(Strict):
    code: str = Code
    name: str = Field(min_length=1, max_length=100)
    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 10
    min_notice_hours: int = 2
    booking_window_days: int = 90
    modality: Literal["in_person", "telehealth"] = "in_person"
    price: Decimal = Field(default=Decimal("0.00"), max_digits=10, decimal_places=2, ge=0)


class AppointmentTypeOut(AppointmentTypeIn):
    pass


class RetireTypeIn(Strict):
    code: str = Code


class SchedulingSettingsIn(Strict):
    reminder_offsets_hours: list[int] | None = None
    late_cancel_hours: int | None = None
    reminders_enabled: bool | None = None
    contact_phone: str | None = None
    sms_number: str | None = None


class CalendarEntry(BaseModel):
    id: UUID
    client_id: UUID
    client_name: str | None
    clinician_id: UUID
    appointment_type: str
    modality: str
    starts_at: datetime
    ends_at: datetime
    status: str
    late: bool
    attendance_unrecorded: bool


class CalendarOut(BaseModel):
    view: str
    time_zone: str
    start: datetime
    end: datetime
    entries: list[CalendarEntry]


class TodayBoardOut(BaseModel):
    date: date
    time_zone: str
    counts: dict[str, int]
    entries: list[CalendarEntry]
    unrecorded: list[CalendarEntry] = Field(description="Visits left open a day after they began (data quality).")


class ConsentIn(Strict):
    type: Literal["informed_consent", "guardian_consent", "telehealth_consent"]
    signed_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    signed_by: str = Field(min_length=1, max_length=200)
    guardian_name: str | None = Field(default=None, max_length=200)


class ConsentOut(BaseModel):
    id: UUID
    type: str
    signed_at: datetime
    expires_at: datetime | None
    effective_expiry: datetime | None
    signed_by: str
    guardian_name: str | None


class WithdrawConsentIn(Strict):
    reason_code: str = Code


class ContactPreferencesIn(Strict):
    channel: Literal["sms", "email", "none"]
    sms_opt_in: bool
    email_opt_in: bool


class ContactPreferencesOut(ContactPreferencesIn):
    sms_opted_out: bool
    reminder_channel: str | None
