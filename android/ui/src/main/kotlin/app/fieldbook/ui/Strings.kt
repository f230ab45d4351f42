package app.fieldbook.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.staticCompositionLocalOf

/**
 * Every piece of text the screens show, by key. English is the source; the
 * Welsh set is complete (a test checks every key) but machine-drafted and
 * marked for review by a Welsh-speaking translator before release.
 */
enum class S {
    AppName, Loading, Back, Continue, Cancel, Confirm, Yes, No, Save, Retry,
    // unlock
    CreatePinTitle, CreatePinIntro, OfficerIdLabel, PinLabel, PinAgainLabel, PinsDiffer, CreatePin,
    UnlockTitle, UnlockIntro, Unlock, WrongPin, LockedOutWait, LockedOutOffice, ReenableCodeLabel, Reenable,
    KeyLost, DeviceAuthTitle, DeviceAuthButton, ChangePinTitle, OldPinLabel, NewPinLabel, PinChanged,
    // enrolment
    EnrolTitle, EnrolIntro, ServerLabel, PinsLabel, CodeLabel, DeviceLabel, Enrol, Enrolled, RoleSupervisor, RoleOfficer,
    // supervisor
    TodayTitle, NoSessions, SessionLine, SessionCounts, SyncNothing, SyncDone, SyncPending, StatusPlanned, StatusStarted,
    StatusStoodDown, StatusEnded, OpenRollCall,
    RollCallTitle, HiVisRequired, Hazards, ArrivedOf, Headcount, HeadcountLabel, HeadcountRecorded, Incident, IncidentLabel,
    IncidentRecorded, Unallocated, UnallocatedCrn, UnallocatedName, StandDown, StandDownReason, StandDownConfirm,
    StandDownDone, EndSession, SessionEnded, Hours,
    ActionCheckIn, ActionDidNotAttend, ActionAgreedAbsence, ActionRecordOutcome, ActionCorrect,
    StatusExpected, StatusOnSite, StatusAttended, StatusSentHome, StatusAbsent, StatusRescheduled, StatusClosedByOffice,
    ActionWarningGiven, WarningGivenConfirm, WarningGivenRecorded, MinutesOnSite, Restricted,
    WarnRisk, WarnRegistrations, WarnHiVis, WarnHoursNearlyComplete, WarnEnforcement, WarnUnallocated, WarnLate, WarnAfterExpectedEnd, WarnAggregateHours,
    CheckInTitle, QIdentity, QHiVisIssued, QHiVisWorn, AnswerAll, CheckedIn, DoubleTap,
    DnaTitle, QRaiseAlert, DnaRecorded,
    // outcome
    OutcomeTitle, StepOutcome, StepTimes, StepCompliance, StepReview, ArrivalLabel, DepartureLabel, TimeFormat, PenaltyLabel,
    TravelLabel, WorkQuality, Behaviour, NotesLabel, NotesCount, Sensitive, RaiseAlert, Review, Next,
    ReviewMinutes, ReviewLate, ReviewEnforcement, FixBelow, RecordOutcome, OutcomeRecorded, CorrectionReason, Current,
    QCanWork, UnableToWorkReason, QComplianceHiVis, QWorkedIntensively, QLeftEarly, LeftEarlyReason, ReviewAfterExpectedEnd,
    RatingExcellent, RatingGood, RatingSatisfactory, RatingUnsatisfactory, RatingPoor, RatingNotApplicable,
    // ledger
    LedgerTitle, Required, Credited, Adjustment, PositiveAdjustment, NegativeAdjustment, EteUsed, WarningsGiven, NoWarningsGiven, Outstanding, Scheduled, AtRisk, OrderEnds, OpenEnforcement, PolicyVersion,
    // officer
    VisitsTitle, NoVisits, VisitDue, VisitOverdue, RisksToStaff, AccessNotes, StartVisit, StartVisitTitle, Purpose,
    OfficersPresent, ExpectedMinutes, LocationConsent, Start, ArrangedVisit, OverrideNeeded, ManagerIdLabel, OverrideReasonLabel, StartWithOverride,
    ActiveVisitTitle, TimeLeft, Overdue, Escalated, AlertRaised, Extend15, CheckInSafe, RaiseAlertButton, SilentAlert,
    EndVisit, EndVisitConfirm, SafetyActive, Warning, OfficeAcknowledged, OfficeAcknowledgedNote,
    VisitHistory, PersonTitle, NextVisitDue, OverdueByPolicy, NoHistory, HistoryLine, Planned, Unplanned, AmendmentsCount, NoOutcome,
    OpenFollowUps, NoOpenFollowUps, FollowUpLine, FollowUpDoneButton, FollowUpDoneNotice, AmendButton, AmendReason, Amended, AmendTitle,
    VisitFormTitle, VisitOutcome, VisitNotes, RiskConcerns, Safeguarding, FollowUpLabel, FollowUpDue, SaveDraft, DraftSaved,
    Finalise, Finalised, NoAnswer, ToFix, DraftExpiresSoon, DraftExpired, EnforcementChoice, EnfWarningLetter, EnfReferOm,
    EnfInitiateBreach, EnfNoFurtherAction, Accommodation, SuitSuitable, SuitUnsuitable, SuitNotAssessed,
    CondGood, CondFair, CondPoor, CondNotSeen,
    // sync
    SyncTitle, Pending, Unsent, LastSync, Never, SyncNow, Syncing, SyncResult, SyncCancelled, Quarantine, QuarantineEmpty,
    QuarantineReason, ResubmitReason, Resubmit, Resubmitted, ReasonOutOfScope, ReasonOther,
    // settings
    SettingsTitle, LockNow, About, CoreVersion, ChainOk, ChainBroken, Language,
    // errors
    ErrLocked, ErrWrongPin, ErrLockedOutWait, ErrLockedOutOffice, ErrInvalid, ErrNotFound, ErrNetwork, ErrAuth, ErrKeyLost,
    ErrStorage, ErrConflict, ErrCancelled, ErrSyncRequired, ErrUserAuth, ErrUnexpected,
}

/** A language's strings. */
class Strings(val tag: String, private val table: Map<S, String>) {
    operator fun get(key: S): String = table[key] ?: English.table.getValue(key)
    fun f(key: S, vararg args: Any?): String = String.format(get(key), *args)
    val keys: Set<S> get() = table.keys

    companion object {
        fun forLanguage(tag: String): Strings = if (tag.startsWith("cy")) Welsh.strings else English.strings
    }
}

val LocalStrings = staticCompositionLocalOf { English.strings }

/** Shorthand inside composables. */
@Composable
fun t(key: S): String = LocalStrings.current[key]

@Composable
fun t(key: S, vararg args: Any?): String = LocalStrings.current.f(key, *args)
