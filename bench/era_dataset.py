"""A behavioral-health practice's billing history and the 835 its payer sends back for it.

`generate_remittance_dataset(seed, claims)` is pure (everything comes from `random.Random(seed)`
and a fixed calendar), so a seed always gives the same history and the same bytes. The history
holds clients and billed charges, each charge with the `claim_number` (CLP01) and `line_ref`
(REF*6R) it was billed under, so a seeding script can enter and bill the charges with them.

The payer's 835 (`era_bytes`) answers `claims` of the billed claims the way payers do:

- most are paid: CO-45 down to the contracted rate, PR-1 deductible (tracked per client through
  the months), PR-2 coinsurance or PR-3 copay (on some claims at the claim level instead);
- ~4% denied (CLP02=4, CO-16/CO-197/CO-29 with RARCs in LQ*HE);
- ~5% of the lines come back without the billed modifiers (no SVC06: payers just drop them);
- ~2% bundle two lines (same-day ones where there are enough) into one SVC: SVC02 is both
  charges, CAS CO-97 the folded line's, SVC06/07 its procedure and units, REF*6R the kept line's;
- ~2% are reversed and corrected: a CLP02=22 claim with the negated amounts of an earlier payment
  (in `prior_era_bytes`, an earlier 835 of the same payer) right before a CLP02=1 correction with
  the same CLP01. These add one CLP each: the file holds `claims + reversals` claims;
- ~3% come back with CLP01 mangled (punctuation or prefix dropped, truncated) or missing ("0",
  "NONE") and without REF*6R, a third of them also with a misspelled name or a suffixed member
  id: matching needs client, date, CPT and amount (levels 2 to 4);
- ~1% are for patients the practice never saw (a misrouted claim: manual review);
- PLB: L6 interest (raises the payment), WO overpayment recoveries and an FB forward balance.

Some 8% of the billed claims are still pending with the payer and appear in no 835. `truth`
says, for every CLP in `era_bytes`, which billed claim and lines it answers and what was done to
it, so a benchmark can score matching.

Import it as `bench.era_dataset` with the repository root on `sys.path` (pytest puts it there; a
script in bench/ adds `_common.ROOT`).
"""

from __future__ import annotations

import dataclasses
import random
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bench.era_writer import Adjustment, ClaimSpec, LineSpec, OriginalProcedure, PaymentSpec, PlbItem, write_835

CENTS = Decimal("0.01")
ZERO = Decimal("0.00")
START = date(2026, 1, 5)
WINDOW_DAYS = 60

PRACTICE_NAME = "Riverside Behavioral Health"
PRACTICE_NPI = "1234567893"
PRACTICE_TAX_ID = "471234567"
PAYER_NAME = "BLUE MEADOW HEALTH PLAN"
PAYER_ID = "87726"

FEES = {
    "90791": Decimal("250.00"), "90832": Decimal("110.00"), "90834": Decimal("150.00"),
    "90837": Decimal("200.00"), "90846": Decimal("160.00"), "90847": Decimal("175.00"),
    "90853": Decimal("80.00"), "99213": Decimal("135.00"), "99214": Decimal("190.00"),
}  # fmt: skip
ALLOWED = {
    "90791": Decimal("168.42"), "90832": Decimal("74.17"), "90834": Decimal("98.16"),
    "90837": Decimal("144.58"), "90846": Decimal("103.84"), "90847": Decimal("107.35"),
    "90853": Decimal("28.91"), "99213": Decimal("91.66"), "99214": Decimal("129.47"),
}  # fmt: skip
MASTERS_LEVEL_RATE = Decimal("0.85")  # HO: the payer pays master's-level clinicians less
CORRECTION_RATE = Decimal("1.03")  # a retroactive fee-schedule raise: why claims get reversed
TRACKS = {  # what a client comes for: the codes of their sessions and how often they come
    "therapy": ((("90837", 5), ("90834", 4), ("90832", 1)), (7, 7, 14)),
    "family": ((("90847", 3), ("90846", 1)), (7, 14)),
    "group": ((("90853", 1),), (7,)),
    "medication": ((("99213", 1), ("99214", 1)), (14, 28)),
}
TRACK_WEIGHTS = (("therapy", 70), ("family", 12), ("group", 8), ("medication", 10))
MODIFIERS = ((), ("95",), ("GT",), ("HO",), ("HO", "95"), ("HJ",))
MODIFIER_WEIGHTS = (45, 25, 4, 12, 9, 5)
DENIALS = (("16", ("M51",)), ("16", ("N290",)), ("197", ("N54",)), ("29", ("N211",)))
FIRST_NAMES = (
    "Ada", "Grace", "Maya", "Liam", "Noah", "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia",
    "Harper", "Evelyn", "Abigail", "Emily", "Ella", "Camila", "Luna", "Sofia", "Avery", "Mila", "Aria", "Scarlett",
    "Penelope", "Layla", "Chloe", "Victoria", "Madison", "James", "Oliver", "Benjamin", "Elijah", "Lucas", "Mason",
    "Logan", "Alexander", "Ethan", "Jacob", "Michael", "Daniel", "Henry", "Jackson", "Sebastian", "Aiden",
    "Matthew", "Samuel", "David", "Joseph", "Carter", "Owen", "Wyatt", "John", "Jack", "Luke", "Dylan", "Levi",
    "Isaac", "Gabriel", "Julian", "Mateo", "Anthony", "Joshua", "Christopher", "Andrew", "Theodore", "Caleb",
    "Ryan", "Nathan", "Thomas", "Leo", "Isaiah", "Charles", "Hudson", "Hunter", "Connor", "Ezra", "Aaron", "Adrian",
    "Jonathan", "Nolan", "Elias", "Robert", "Nicholas", "Dominic", "Ian", "Austin", "Santiago", "Jordan", "Roman",
    "Evan", "Xavier", "Jose", "Everett", "Parker", "Miles", "Jason", "Priya", "Aisha", "Fatima", "Mei", "Yuki",
    "Hana", "Zara", "Nia", "Imani", "Keisha", "Rosa", "Lucia", "Valentina", "Ximena", "Guadalupe", "Tomasz",
    "Agnieszka", "Oluwaseun", "Chidi", "Anh", "Minh", "Jae", "Soo",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
    "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Kim", "Chen", "Singh", "Okafor",
    "Kowalski", "Novak", "Haddad", "Abernathy", "Lindqvist", "Okonkwo", "Takahashi", "O'Neil", "Garcia-Lopez",
    "Van Dyke", "St John",
)


@dataclass(frozen=True, slots=True)
class HistoryClient:
    key: str
    first_name: str
    last_name: str
    birth_date: date
    member_id: str
    """The subscriber's member id, as on the insurance card."""
    relationship: str = "self"  # self | child | spouse
    subscriber_first: str = ""
    subscriber_last: str = ""


@dataclass(frozen=True, slots=True)
class HistoryCharge:
    """One billed service line."""

    line_ref: str
    claim_number: str
    client_key: str
    service_date: date
    cpt: str
    modifiers: tuple[str, ...]
    units: Decimal
    unit_fee: Decimal
    amount: Decimal
    place_of_service: str
    billed_on: date


@dataclass(frozen=True, slots=True)
class BillingHistory:
    practice_name: str
    practice_npi: str
    practice_tax_id: str
    payer_name: str
    payer_id: str
    fees: tuple[tuple[str, Decimal], ...]
    clients: tuple[HistoryClient, ...]
    charges: tuple[HistoryCharge, ...]

    @property
    def claim_numbers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.claim_number for c in self.charges))


@dataclass(frozen=True, slots=True)
class EraTotals:
    claims: int
    charged: Decimal
    paid: Decimal
    """sum(CLP04)"""
    adjusted: Decimal
    """Every CAS amount, claim and line level: charged - adjusted = paid."""
    patient_responsibility: Decimal
    plb: Decimal
    payment: Decimal
    """BPR02 = paid - plb"""


@dataclass(frozen=True, slots=True)
class EraClaimTruth:
    """What one CLP in the file answers; `claim_number` None = no billed claim (manual review)."""

    index: int
    claim_number: str | None
    client_key: str | None
    status: str
    kinds: tuple[str, ...]
    """paid, denied, reversal, correction, mangled_number, missing_number, unknown_patient,
    name_variant, member_id_variant, dropped_modifier, bundled, claim_level_pr (the patient's share
    in claim-level CAS instead of on the lines)"""
    line_refs: tuple[tuple[str, ...], ...]
    """Per SVC, the billed lines it answers (two for a bundled SVC)."""


@dataclass(frozen=True, slots=True)
class Dataset:
    seed: int
    history: BillingHistory
    era_bytes: bytes
    totals: EraTotals
    truth: tuple[EraClaimTruth, ...]
    prior_era_bytes: bytes
    prior_totals: EraTotals

    @property
    def reversals(self) -> int:
        return sum(t.status == "22" for t in self.truth)


@dataclass
class _Client:
    public: HistoryClient
    track: str
    copay: Decimal  # 0 = coinsurance plan
    coinsurance: Decimal
    deductible_left: Decimal


@dataclass
class _Claim:
    number: str
    client: _Client
    lines: list[HistoryCharge]
    kinds: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Adjudication:
    spec: ClaimSpec
    line_refs: tuple[tuple[str, ...], ...]
    kinds: tuple[str, ...]


def generate_remittance_dataset(seed: int, claims: int) -> Dataset:
    return _Generator(random.Random(seed)).dataset(seed, claims)


def _count(total: int, share: float) -> int:
    return max(1, round(total * share)) if total >= 10 else round(total * share)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.member_ids: set[str] = set()
        self.line_refs: set[str] = set()
        self.clients = 0
        self.icn_counter = rng.randrange(10_000_000, 50_000_000)
        self.paid_date = START + timedelta(days=WINDOW_DAYS + 17)
        self.prior_date = START + timedelta(days=WINDOW_DAYS - 12)

    def dataset(self, seed: int, claims: int) -> Dataset:
        rng = self.rng
        unknown = _count(claims, 0.01)
        answered = claims - unknown
        pending = round(answered * 0.08)
        billed = self._billed_claims(answered + pending, "RB")
        history = BillingHistory(
            PRACTICE_NAME, PRACTICE_NPI, PRACTICE_TAX_ID, PAYER_NAME, PAYER_ID, tuple(FEES.items()),
            tuple(dict.fromkeys(c.client.public for c in billed)),
            tuple(line for c in billed for line in c.lines),
        )  # fmt: skip
        in_era = sorted(rng.sample(billed, answered), key=lambda c: c.lines[-1].service_date)
        order = list(range(len(in_era)))
        rng.shuffle(order)
        # A reversed claim was paid in the earlier 835, so it was billed well before that one.
        settled = self.prior_date - timedelta(days=7)
        early = [i for i in order if in_era[i].lines[-1].billed_on <= settled]
        reversed_ = set(early[: _count(answered, 0.02)])
        rest = [i for i in order if i not in reversed_]
        denials, mangles = _count(answered, 0.04), _count(answered, 0.03)
        denied, mangled = set(rest[:denials]), set(rest[denials : denials + mangles])
        paid = [i for i in range(len(in_era)) if i not in denied | reversed_ | mangled]
        bundled = self._pick_bundled(in_era, paid, _count(answered, 0.02))
        lines_total = sum(len(c.lines) for c in in_era)
        dropped = self._pick_dropped(in_era, [i for i in paid if i not in bundled], _count(lines_total, 0.05))
        claim_level = set(rng.sample(paid, _count(len(paid), 0.05)))

        prior: list[_Adjudication] = []
        units: list[list[_Adjudication]] = []
        for index, claim in enumerate(in_era):  # in service order: deductibles are used up in time
            if index in denied:
                units.append([self._denied(claim)])
            elif index in reversed_:
                original = self._paid(claim, icn=self._icn(self.prior_date))
                prior.append(original)
                units.append([self._reversal(original), self._correction(claim, original)])
            elif index in mangled:
                units.append([self._mangled(claim)])
            else:
                units.append([
                    self._paid(
                        claim,
                        dropped=dropped,
                        bundle=bundled.get(index),
                        claim_level_pr=index in claim_level,
                    )
                ])  # fmt: skip
        for claim in self._billed_claims(unknown, "XX"):
            units.append([self._unknown(claim)])
        units.sort(key=lambda u: (u[0].spec.patient_last, u[0].spec.patient_first, u[0].spec.payer_claim_number))
        answers = [a for unit in units for a in unit]
        payment = self._payment(answers, "EFT", self.paid_date)
        prior_payment = self._payment([], "EFT", self.prior_date)
        billed_as = {c.line_ref: c for c in history.charges}

        def truth(index: int, answer: _Adjudication) -> EraClaimTruth:
            charge = billed_as.get(answer.line_refs[0][0]) if answer.line_refs else None
            return EraClaimTruth(
                index, charge.claim_number if charge else None, charge.client_key if charge else None,
                answer.spec.status, answer.kinds, answer.line_refs,
            )  # fmt: skip

        return Dataset(
            seed=seed,
            history=history,
            era_bytes=write_835(payment, [a.spec for a in answers], interchange_control=f"{seed % 10**8:08d}2"),
            totals=_totals(payment, [a.spec for a in answers]),
            truth=tuple(truth(i, a) for i, a in enumerate(answers)),
            prior_era_bytes=write_835(
                prior_payment, [a.spec for a in prior], interchange_control=f"{seed % 10**8:08d}1"
            ),
            prior_totals=_totals(prior_payment, [a.spec for a in prior]),
        )

    # --- the practice's side: clients, visits, claims ---

    def _billed_claims(self, count: int, prefix: str) -> list[_Claim]:
        claims: list[_Claim] = []
        while len(claims) < count:
            client = self._client(prefix)
            claims += self._claims_for(client)
        claims = claims[:count]
        claims.sort(key=lambda c: (c.lines[-1].service_date, c.client.public.key))
        numbered: list[_Claim] = []
        sequence = self.rng.randrange(100, 900)
        for claim in claims:
            sequence += 1
            number = f"{prefix}{START:%y}-{sequence:06d}" if prefix == "RB" else f"{self.rng.randrange(10**7, 10**8)}"
            lines = [dataclasses.replace(line, claim_number=number) for line in claim.lines]
            numbered.append(_Claim(number, claim.client, lines))
        return numbered

    def _client(self, prefix: str) -> _Client:
        rng = self.rng
        self.clients += 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        relationship = rng.choices(("self", "child", "spouse"), (80, 14, 6))[0]
        age = rng.randint(6, 17) if relationship == "child" else rng.randint(19, 78)
        born = START - timedelta(days=age * 365 + rng.randrange(365))
        subscriber = ("", "") if relationship == "self" else (rng.choice(FIRST_NAMES), last)
        member_id = self._unique(self.member_ids, lambda: "".join(rng.choices(string.ascii_uppercase, k=3))
                                 + f"{rng.randrange(10**9):09d}")  # fmt: skip
        public = HistoryClient(
            f"{prefix.lower()}-client-{self.clients:05d}", first, last, born, member_id,
            relationship, *subscriber,
        )  # fmt: skip
        track = rng.choices([t for t, _ in TRACK_WEIGHTS], [w for _, w in TRACK_WEIGHTS])[0]
        copay = rng.choice((Decimal(0), Decimal(20), Decimal(30), Decimal(40)))
        deductible = rng.choices((ZERO, Decimal("250.00"), Decimal("500.00"), Decimal("1000.00")), (70, 18, 9, 3))[0]
        return _Client(public, track, copay, Decimal("0.2") if not copay else ZERO, deductible)

    def _claims_for(self, client: _Client) -> list[_Claim]:
        rng = self.rng
        codes, cadences = TRACKS[client.track]
        cadence = rng.choice(cadences)
        modifiers = rng.choices(MODIFIERS, MODIFIER_WEIGHTS)[0]
        day = START + timedelta(days=rng.randrange(min(cadence, 21)))
        new_client = rng.random() < 0.4 and client.track != "medication"
        visits: list[list[tuple[date, str]]] = []
        while day < START + timedelta(days=WINDOW_DAYS):
            cpt = "90791" if new_client and not visits else rng.choices([c for c, _ in codes], [w for _, w in codes])[0]
            visit = [(day, cpt)]
            if client.track == "family" and visits and rng.random() < 0.3:
                visit.append((day, "90837"))  # the identified patient seen alone the same day
            visits.append(visit)
            day += timedelta(days=cadence + rng.choice((0, 0, 0, 1, -1, 2)))
        claims: list[_Claim] = []
        pending: list[tuple[date, str]] = []
        size = rng.choices((1, 2, 3), (60, 28, 12))[0]
        for visit in visits:
            pending += visit
            if len(pending) >= size:
                claims.append(self._claim(client, pending, modifiers))
                pending, size = [], rng.choices((1, 2, 3), (60, 28, 12))[0]
        if pending:
            claims.append(self._claim(client, pending, modifiers))
        return claims

    def _claim(self, client: _Client, visits: list[tuple[date, str]], modifiers: tuple[str, ...]) -> _Claim:
        rng = self.rng
        lines = []
        billed_on = visits[-1][0] + timedelta(days=rng.randint(1, 6))
        for day, cpt in visits:
            mods = modifiers if cpt != "90853" else tuple(m for m in modifiers if m != "95")
            ref = self._unique(self.line_refs, lambda: f"L{rng.getrandbits(48):012X}")
            telehealth = "95" in mods or "GT" in mods
            lines.append(
                HistoryCharge(ref, "", client.public.key, day, cpt, mods, Decimal(1), FEES[cpt], FEES[cpt],
                              "10" if telehealth else "11", billed_on)
            )
        return _Claim("", client, lines)

    @staticmethod
    def _unique(taken: set[str], make: Callable[[], str]) -> str:
        while True:
            value: str = make()
            if value not in taken:
                taken.add(value)
                return value

    def _pick_bundled(self, claims: list[_Claim], candidates: list[int], count: int) -> dict[int, tuple[int, int]]:
        """Claims whose two lines of one day the payer folds into one SVC: {claim: (kept, folded)}."""
        picked: dict[int, tuple[int, int]] = {}
        same_day = [i for i in candidates if self._same_day_pair(claims[i]) is not None]
        multi = [i for i in candidates if len(claims[i].lines) > 1 and i not in same_day]
        for index in [*self.rng.sample(same_day, len(same_day)), *self.rng.sample(multi, len(multi))][:count]:
            picked[index] = self._same_day_pair(claims[index]) or (0, 1)
        return picked

    @staticmethod
    def _same_day_pair(claim: _Claim) -> tuple[int, int] | None:
        for i, a in enumerate(claim.lines):
            for j in range(i + 1, len(claim.lines)):
                if claim.lines[j].service_date == a.service_date:
                    return i, j
        return None

    def _pick_dropped(self, claims: list[_Claim], candidates: list[int], count: int) -> set[str]:
        refs = [line.line_ref for i in candidates for line in claims[i].lines if line.modifiers]
        return set(self.rng.sample(refs, min(count, len(refs))))

    # --- the payer's side: adjudication ---

    def _icn(self, on: date) -> str:
        self.icn_counter += self.rng.randint(1, 40)
        return f"{on:%y}{on.timetuple().tm_yday:03d}{self.icn_counter:08d}"

    def _line_share(self, client: _Client, allowed: Decimal) -> list[Adjustment]:
        """The patient's part of one allowed amount; uses up the client's deductible."""
        shares: list[Adjustment] = []
        deductible = min(client.deductible_left, allowed)
        if deductible:
            client.deductible_left -= deductible
            shares.append(("PR", "1", deductible))
        rest = allowed - deductible
        if rest and client.copay:
            shares.append(("PR", "3", min(client.copay, rest)))
        elif rest and client.coinsurance:
            shares.append(("PR", "2", _cents(rest * client.coinsurance)))
        return shares

    def _allowed(self, line: HistoryCharge) -> Decimal:
        rate = ALLOWED[line.cpt] * (MASTERS_LEVEL_RATE if "HO" in line.modifiers else 1)
        return min(_cents(rate * line.units), line.amount)

    def _paid(
        self,
        claim: _Claim,
        *,
        icn: str | None = None,
        dropped: set[str] | frozenset[str] = frozenset(),
        bundle: tuple[int, int] | None = None,
        claim_level_pr: bool = False,
        line_refs: bool = True,
    ) -> _Adjudication:
        kinds = ["paid"]
        specs: list[LineSpec] = []
        answered: list[tuple[str, ...]] = []
        folded = claim.lines[bundle[1]] if bundle else None
        moved: list[Adjustment] = []
        for index, line in enumerate(claim.lines):
            if bundle and index == bundle[1]:
                continue
            allowed = self._allowed(line)
            shares = self._line_share(claim.client, allowed)
            if claim_level_pr:
                moved += shares
                shares = []
            charge = line.amount
            adjustments: list[Adjustment] = [("CO", "45", line.amount - allowed)] if line.amount > allowed else []
            original = None
            refs: tuple[str, ...] = (line.line_ref,)
            if bundle and index == bundle[0] and folded is not None:
                charge += folded.amount
                adjustments.append(("CO", "97", folded.amount))
                original = OriginalProcedure(folded.cpt, folded.modifiers, folded.units)
                refs += (folded.line_ref,)
            adjustments += shares
            drop = line.line_ref in dropped
            specs.append(
                LineSpec(
                    cpt=line.cpt,
                    charge=charge,
                    paid=charge - sum((a for _, _, a in adjustments), ZERO),
                    modifiers=() if drop else line.modifiers,
                    units=line.units,
                    service_date=line.service_date,
                    line_ref=line.line_ref if line_refs else "",
                    adjustments=tuple(adjustments),
                    original=original,
                )
            )
            answered.append(refs)
            if drop:
                kinds.append("dropped_modifier")
        if bundle:
            kinds.append("bundled")
        if moved:
            kinds.append("claim_level_pr")
        spec = self._claim_spec(claim, "1", icn or self._icn(self.paid_date), specs, tuple(moved))
        return _Adjudication(spec, tuple(answered), tuple(dict.fromkeys(kinds)))

    def _claim_spec(
        self, claim: _Claim, status: str, icn: str, lines: Sequence[LineSpec], claim_adjustments: tuple[Adjustment, ...]
    ) -> ClaimSpec:
        client = claim.client.public
        adjustments = [*claim_adjustments, *(a for line in lines for a in line.adjustments)]
        charge = sum((line.charge for line in lines), ZERO)
        dates = [line.service_date for line in claim.lines]
        span = len(set(dates)) > 1
        dependent = client.relationship != "self"
        return ClaimSpec(
            patient_control_number=claim.number,
            status=status,
            charge=charge,
            paid=charge - sum((a for _, _, a in adjustments), ZERO),
            patient_responsibility=sum((a for g, _, a in adjustments if g == "PR"), ZERO),
            payer_claim_number=icn,
            patient_last=client.last_name.upper(),
            patient_first=client.first_name.upper(),
            member_id="" if dependent else client.member_id,
            lines=tuple(lines),
            claim_adjustments=claim_adjustments,
            insured_last=client.subscriber_last.upper() if dependent else "",
            insured_first=client.subscriber_first.upper() if dependent else "",
            insured_id=client.member_id if dependent else "",
            facility_code=claim.lines[0].place_of_service,
            statement_from=min(dates) if span else None,
            statement_to=max(dates) if span else None,
            received=claim.lines[0].billed_on + timedelta(days=2),
        )

    def _denied(self, claim: _Claim) -> _Adjudication:
        reason, remarks = self.rng.choice(DENIALS)
        lines = [
            LineSpec(line.cpt, line.amount, ZERO, line.modifiers, line.units, line.service_date, line.line_ref,
                     (("CO", reason, line.amount),), remarks)
            for line in claim.lines
        ]
        spec = self._claim_spec(claim, "4", self._icn(self.paid_date), lines, ())
        return _Adjudication(spec, tuple((line.line_ref,) for line in claim.lines), ("denied",))

    def _reversal(self, original: _Adjudication) -> _Adjudication:
        spec = original.spec

        def negate(adjustments: tuple[Adjustment, ...]) -> tuple[Adjustment, ...]:
            return tuple((g, r, -a) for g, r, a in adjustments)

        lines = tuple(
            dataclasses.replace(line, charge=-line.charge, paid=-line.paid, adjustments=negate(line.adjustments))
            for line in spec.lines
        )
        reversal = dataclasses.replace(
            spec, status="22", charge=-spec.charge, paid=-spec.paid,
            patient_responsibility=-spec.patient_responsibility, lines=lines,
            claim_adjustments=negate(spec.claim_adjustments), received=None,
        )  # fmt: skip
        return _Adjudication(reversal, original.line_refs, ("reversal",))

    def _correction(self, claim: _Claim, original: _Adjudication) -> _Adjudication:
        """The same claim re-adjudicated at the raised rate; the patient's share stays as it was."""
        lines = []
        for line in original.spec.lines:
            co45 = sum((a for g, r, a in line.adjustments if (g, r) == ("CO", "45")), ZERO)
            others = tuple(a for a in line.adjustments if a[:2] != ("CO", "45"))
            allowed = min(_cents((line.charge - co45) * CORRECTION_RATE), line.charge)
            adjustments = ((("CO", "45", line.charge - allowed),) if line.charge > allowed else ()) + others
            paid = line.charge - sum((a for _, _, a in adjustments), ZERO)
            lines.append(dataclasses.replace(line, paid=paid, adjustments=adjustments))
        spec = self._claim_spec(claim, "1", self._icn(self.paid_date), lines, original.spec.claim_adjustments)
        return _Adjudication(spec, original.line_refs, ("correction",))

    def _mangled(self, claim: _Claim) -> _Adjudication:
        rng = self.rng
        number = claim.number
        digits = number.split("-")[-1]
        missing = rng.random() < 0.4
        if missing:
            pcn, kinds = rng.choice(("0", "NONE")), ["missing_number"]
        else:
            pcn = rng.choice((number.replace("-", ""), digits.lstrip("0") or "0", number[:-1], digits))
            kinds = ["mangled_number"]
        adjudication = self._paid(claim, line_refs=False)
        spec = dataclasses.replace(adjudication.spec, patient_control_number=pcn)
        variant = rng.random()
        if variant < 0.17:
            spec = dataclasses.replace(spec, patient_last=_misspelled(spec.patient_last, rng))
            kinds.append("name_variant")
        elif variant < 0.34 and spec.member_id:
            spec = dataclasses.replace(spec, member_id=spec.member_id + "01")
            kinds.append("member_id_variant")
        return _Adjudication(spec, adjudication.line_refs, (*adjudication.kinds, *kinds))

    def _unknown(self, claim: _Claim) -> _Adjudication:
        adjudication = self._paid(claim, line_refs=False)
        return _Adjudication(adjudication.spec, (), (*adjudication.kinds, "unknown_patient"))

    def _payment(self, answers: list[_Adjudication], prefix: str, on: date) -> PaymentSpec:
        plb = list(self._plb(answers, on))
        paid = sum((a.spec.paid for a in answers), ZERO)
        net = paid - sum((p.amount for p in plb), ZERO)
        if net < 0:  # never a negative BPR02: the rest is carried forward
            plb.append(PlbItem("FB", self._icn(on), net))
        return PaymentSpec(
            payer_name=PAYER_NAME,
            payer_id=PAYER_ID,
            payee_name=PRACTICE_NAME.upper(),
            payee_npi=PRACTICE_NPI,
            trace_number=f"{prefix}{on:%y%m%d}{self.rng.randrange(10**6):06d}",
            paid_date=on,
            plb=tuple(plb),
            payee_tax_id=PRACTICE_TAX_ID,
            production_date=on - timedelta(days=2),
        )

    def _plb(self, answers: list[_Adjudication], on: date) -> Iterator[PlbItem]:
        if not answers:
            return
        rng = self.rng
        paid = [a for a in answers if a.spec.status == "1" and a.spec.paid > 0]
        n = len(answers)
        for _ in range(max(1, n // 150)):
            claim = rng.choice(paid).spec if paid else answers[0].spec
            yield PlbItem("L6", claim.payer_claim_number, -_cents(Decimal(rng.randint(50, 1500)) / 100))
        for _ in range(max(1, n // 200)):
            earlier = on - timedelta(days=rng.randint(60, 200))
            yield PlbItem("WO", self._icn(earlier), Decimal(rng.randint(25, 180)) + Decimal(rng.choice((0, 50))) / 100)
        yield PlbItem("FB", f"FB{on:%y%m}{rng.randrange(10**5):05d}", Decimal(rng.randint(10, 60)))


def _misspelled(name: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 3:
        return name + name[-1]
    i = rng.choice(letters[1:-1])
    swapped = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if rng.random() < 0.5 or swapped == name:
        return name[:i] + name[i + 1 :]  # a letter dropped
    return swapped


def _totals(payment: PaymentSpec, claims: Sequence[ClaimSpec]) -> EraTotals:
    adjusted = sum(
        (a for c in claims for _, _, a in (*c.claim_adjustments, *(x for line in c.lines for x in line.adjustments))),
        ZERO,
    )
    paid = sum((c.paid for c in claims), ZERO)
    plb = sum((p.amount for p in payment.plb), ZERO)
    return EraTotals(
        claims=len(claims),
        charged=sum((c.charge for c in claims), ZERO),
        paid=paid,
        adjusted=adjusted,
        patient_responsibility=sum((c.patient_responsibility for c in claims), ZERO),
        plb=plb,
        payment=paid - plb,
    )
