package app.fieldbook.ui.screens

import androidx.compose.foundation.layout.Column
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.lifecycle.viewModelScope
import app.fieldbook.core.Accommodation
import app.fieldbook.core.ActiveVisit
import app.fieldbook.core.Condition
import app.fieldbook.core.EnforcementAction
import app.fieldbook.core.FieldMessage
import app.fieldbook.core.FollowUp
import app.fieldbook.core.SafetyStatus
import app.fieldbook.core.SafetyView
import app.fieldbook.core.Stamp
import app.fieldbook.core.Suitability
import app.fieldbook.core.VisitForm
import app.fieldbook.core.VisitOutcomeOption
import app.fieldbook.ui.*
import app.fieldbook.ui.safety.AlarmBus
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.launch

data class ActiveVisitState(
    val visit: ActiveVisit? = null,
    val confirmEnd: Boolean = false,
    val message: String? = null,
)

sealed interface ActiveVisitIntent {
    data object Extend : ActiveVisitIntent
    data object Safe : ActiveVisitIntent
    data object Alert : ActiveVisitIntent
    data object SilentAlert : ActiveVisitIntent
    data object AskEnd : ActiveVisitIntent
    data object CancelEnd : ActiveVisitIntent
    data object End : ActiveVisitIntent
}

/** The active visit: time left, extend, check in safe, alerts, end. The core's timer decides the status. */
class ActiveVisitPresenter(core: Core, private val nav: Navigator, private val visitId: String) :
    Presenter<ActiveVisitState>(ActiveVisitState(), core) {
    private val err = { s: ActiveVisitState, m: String -> s.copy(message = m) }

    init {
        viewModelScope.launch(core.io) {
            AlarmBus.fired.filter { it.visitId == visitId }.collect { tick() }
        }
        // An acknowledgement from the office arrived on the safety lane: show the core's view again.
        viewModelScope.launch(core.io) {
            AlarmBus.lane.collect { reload() }
        }
    }

    override fun onShown() = tick()

    private fun tick() {
        work(err) {
            core.app.hvTick()
            val v = core.app.hvActiveVisit(visitId)
            update { it.copy(visit = v, message = null) }
        }
    }

    private fun reload() = work(err) {
        val v = core.app.hvActiveVisit(visitId)
        update { it.copy(visit = v, message = null) }
    }

    private fun then(block: () -> SafetyView) = work(err) {
        block()
        val v = core.app.hvActiveVisit(visitId)
        update { it.copy(visit = v, message = null) }
    }

    fun onIntent(i: ActiveVisitIntent) {
        when (i) {
            ActiveVisitIntent.Extend -> then { core.app.hvExtend(visitId, 15L) }
            ActiveVisitIntent.Safe -> then { core.app.hvCheckInSafe(visitId) }
            ActiveVisitIntent.Alert -> then { core.app.hvRaiseAlert(visitId, false) }
            ActiveVisitIntent.SilentAlert -> then { core.app.hvRaiseAlert(visitId, true) }
            ActiveVisitIntent.AskEnd -> update { it.copy(confirmEnd = true) }
            ActiveVisitIntent.CancelEnd -> update { it.copy(confirmEnd = false) }
            ActiveVisitIntent.End -> work(err) {
                core.app.hvEndVisit(visitId, null)
                nav.pop()
                nav.push(Route.VisitRecord(visitId))
            }
        }
    }
}

@Composable
fun ActiveVisitView(state: ActiveVisitState, onIntent: (ActiveVisitIntent) -> Unit) {
    val v = state.visit
    ScreenFrame(t(S.ActiveVisitTitle), "active-visit") {
        state.message?.let { Banner(it, Tone.Error) }
        if (v == null) {
            Text(t(S.Loading))
            return@ScreenFrame
        }
        Heading(v.label)
        Text(v.address)
        if (v.accessNotes.isNotBlank()) Text(t(S.AccessNotes, v.accessNotes))
        // The core says what to show: a silent alert looks like the running timer.
        val shown = v.safety.shownStatus
        when (shown) {
            SafetyStatus.OVERDUE -> Banner(t(S.Overdue), Tone.Alarm, "safety-overdue")
            SafetyStatus.ESCALATED -> Banner(t(S.Escalated), Tone.Alarm, "safety-escalated")
            SafetyStatus.ALERT -> Banner(t(S.AlertRaised), Tone.Alarm, "safety-alert")
            else -> Banner(t(S.SafetyActive) + " · " + t(S.TimeLeft, maxOf(0L, v.safety.remainingMs / 60_000)), Tone.Notice, "safety-active")
        }
        // The office's acknowledgement when the core gives one to show (none after a silent alert).
        v.safety.officeAck?.let { ack ->
            Banner(t(S.OfficeAcknowledged, ack.by, clockTime(Stamp(ack.atMs, offsetNow(ack.atMs)))), Tone.Notice, "office-ack")
            if (ack.note.isNotBlank()) Text(t(S.OfficeAcknowledgedNote, ack.note), Modifier.testTag("office-ack-note"))
        }
        ButtonRow {
            SecondaryButton(t(S.Extend15), "extend") { onIntent(ActiveVisitIntent.Extend) }
            SecondaryButton(t(S.CheckInSafe), "safe") { onIntent(ActiveVisitIntent.Safe) }
        }
        PrimaryButton(t(S.RaiseAlertButton), "alert", danger = true) { onIntent(ActiveVisitIntent.Alert) }
        SecondaryButton(t(S.SilentAlert), "silent-alert") { onIntent(ActiveVisitIntent.SilentAlert) }
        if (state.confirmEnd) {
            ConfirmCard(t(S.EndVisitConfirm), "end-visit-sheet", t(S.EndVisit), { onIntent(ActiveVisitIntent.End) }, { onIntent(ActiveVisitIntent.CancelEnd) })
        } else {
            PrimaryButton(t(S.EndVisit), "end-visit") { onIntent(ActiveVisitIntent.AskEnd) }
        }
    }
}

data class VisitRecordState(
    val visit: ActiveVisit? = null,
    val outcomes: List<VisitOutcomeOption> = emptyList(),
    val form: VisitForm? = null,
    val followUpAction: String = "",
    val followUpDue: String = "",
    val validation: List<FieldMessage> = emptyList(),
    val saved: Boolean = false,
    val finalised: Boolean = false,
    /** The core says the record is final: the form amends it, with a reason. */
    val amending: Boolean = false,
    val amendReason: String = "",
    val amended: Boolean = false,
    val message: String? = null,
)

sealed interface VisitRecordIntent {
    data class Edit(val f: (VisitForm) -> VisitForm) : VisitRecordIntent
    data class FollowUpAction(val v: String) : VisitRecordIntent
    data class FollowUpDue(val v: String) : VisitRecordIntent
    data class AmendReason(val v: String) : VisitRecordIntent
    data object Amend : VisitRecordIntent
    data object History : VisitRecordIntent
    data object SaveDraft : VisitRecordIntent
    data object Finalise : VisitRecordIntent
    data object Done : VisitRecordIntent
}

/** The visit form: drafts across sittings (saved in the core), the core's validation, finalise. */
class VisitRecordPresenter(core: Core, private val nav: Navigator, private val visitId: String) :
    Presenter<VisitRecordState>(VisitRecordState(), core) {
    private val err = { s: VisitRecordState, m: String -> s.copy(message = m) }

    override fun onShown() {
        if (state.value.form != null) return
        work(err) {
            val v = core.app.hvActiveVisit(visitId)
            val first = v.form.followUps.firstOrNull()
            update {
                it.copy(
                    visit = v, form = v.form, outcomes = core.app.hvOutcomeOptions(), validation = v.validation,
                    followUpAction = first?.action ?: "", followUpDue = first?.due ?: "", amending = v.status == "final",
                )
            }
        }
    }

    private fun current(): VisitForm? {
        val s = state.value
        val f = s.form ?: return null
        // The first follow-up is the one on screen; the rest, and whether each is done, are kept as recorded.
        val first = f.followUps.firstOrNull()
        val action = s.followUpAction.trim()
        val due = s.followUpDue.trim()
        val edited = if (action.isEmpty()) null else FollowUp(action, due, first?.takeIf { it.action == action && it.due == due }?.done ?: false)
        return f.copy(followUps = listOfNotNull(edited) + f.followUps.drop(1))
    }

    fun onIntent(i: VisitRecordIntent) {
        when (i) {
            is VisitRecordIntent.Edit -> update { s -> s.copy(form = s.form?.let(i.f), saved = false) }
            is VisitRecordIntent.FollowUpAction -> update { it.copy(followUpAction = i.v, saved = false) }
            is VisitRecordIntent.FollowUpDue -> update { it.copy(followUpDue = i.v, saved = false) }
            is VisitRecordIntent.AmendReason -> update { it.copy(amendReason = i.v) }
            VisitRecordIntent.Amend -> work(err) {
                val f = current() ?: return@work
                core.app.hvAmend(visitId, f, state.value.amendReason)
                update { it.copy(amended = true, message = null) }
            }
            VisitRecordIntent.SaveDraft -> work(err) {
                val f = current() ?: return@work
                val problems = core.app.hvSaveDraft(visitId, f)
                update { it.copy(validation = problems, saved = true, message = null) }
            }
            VisitRecordIntent.Finalise -> work(err) {
                val f = current() ?: return@work
                val problems = core.app.hvSaveDraft(visitId, f)
                update { it.copy(validation = problems, saved = true) }
                if (problems.isEmpty()) {
                    core.app.hvFinalise(visitId)
                    update { it.copy(finalised = true, message = null) }
                }
            }
            VisitRecordIntent.History -> state.value.visit?.caseId?.let {
                nav.home(core.app)
                nav.push(Route.Person(it))
            }
            VisitRecordIntent.Done -> if (state.value.amending) nav.pop() else nav.home(core.app)
        }
    }
}

@Composable
fun enforcementName(e: EnforcementAction) = t(
    when (e) {
        is EnforcementAction.WarningLetter -> S.EnfWarningLetter
        is EnforcementAction.ReferToOffenderManager -> S.EnfReferOm
        is EnforcementAction.InitiateBreach -> S.EnfInitiateBreach
        else -> S.EnfNoFurtherAction
    },
)

@Composable
fun VisitRecordView(state: VisitRecordState, onIntent: (VisitRecordIntent) -> Unit) {
    val f = state.form
    val edit = { g: (VisitForm) -> VisitForm -> onIntent(VisitRecordIntent.Edit(g)) }
    val title = t(if (state.amending) S.AmendTitle else S.VisitFormTitle) + (state.visit?.label?.let { ": $it" } ?: "")
    ScreenFrame(title, "visit-record", onBack = if (state.amending) ({ onIntent(VisitRecordIntent.Done) }) else null) {
        state.message?.let { Banner(it, Tone.Error) }
        if (f == null) {
            Text(t(S.Loading))
            return@ScreenFrame
        }
        if (state.finalised || state.amended) {
            Banner(t(if (state.amended) S.Amended else S.Finalised), Tone.Notice, if (state.amended) "amended" else "finalised")
            PrimaryButton(t(S.Continue), "done") { onIntent(VisitRecordIntent.Done) }
            if (state.finalised) SecondaryButton(t(S.VisitHistory), "open-history") { onIntent(VisitRecordIntent.History) }
            return@ScreenFrame
        }
        when (state.visit?.draftExpiry) {
            "expires_soon" -> Banner(t(S.DraftExpiresSoon), Tone.Error, "draft-expiry")
            "expired" -> Banner(t(S.DraftExpired), Tone.Error, "draft-expiry")
        }
        if (state.saved) Banner(t(S.DraftSaved), Tone.Notice, "draft-saved")
        if (state.validation.isNotEmpty()) {
            Banner(t(S.ToFix, state.validation.joinToString("; ") { "${it.label}: ${it.message}" }), Tone.Error, "validation")
        }
        Toggle(t(S.NoAnswer), f.noAnswer, "no-answer") { v -> edit { it.copy(noAnswer = v) } }
        Heading(t(S.VisitOutcome))
        state.outcomes.forEach { o ->
            Choice("${o.code} – ${o.description}", f.outcome == o.code, "visit-outcome-${o.code}") { edit { it.copy(outcome = o.code) } }
        }
        if (state.outcomes.any { it.code == f.outcome && it.needsEnforcement }) {
            Heading(t(S.EnforcementChoice))
            listOf(EnforcementAction.WarningLetter, EnforcementAction.ReferToOffenderManager, EnforcementAction.InitiateBreach, EnforcementAction.NoFurtherAction)
                .forEach { e -> Choice(enforcementName(e), f.enforcement == e, "enforcement-${e::class.simpleName}") { edit { it.copy(enforcement = e) } } }
        }
        Heading(t(S.Accommodation))
        ButtonRow {
            Suitability.entries.forEach { s ->
                Choice(t(when (s) { Suitability.SUITABLE -> S.SuitSuitable; Suitability.UNSUITABLE -> S.SuitUnsuitable; Suitability.NOT_ASSESSED -> S.SuitNotAssessed }), f.accommodation?.suitability == s, "suitability-${s.name.lowercase()}") {
                    edit { it.copy(accommodation = Accommodation(s, it.accommodation?.condition ?: Condition.NOT_SEEN, it.accommodation?.changes ?: "")) }
                }
            }
        }
        ButtonRow {
            Condition.entries.forEach { c ->
                Choice(t(when (c) { Condition.GOOD -> S.CondGood; Condition.FAIR -> S.CondFair; Condition.POOR -> S.CondPoor; Condition.NOT_SEEN -> S.CondNotSeen }), f.accommodation?.condition == c, "condition-${c.name.lowercase()}") {
                    edit { it.copy(accommodation = Accommodation(it.accommodation?.suitability ?: Suitability.NOT_ASSESSED, c, it.accommodation?.changes ?: "")) }
                }
            }
        }
        Field(t(S.RiskConcerns), f.riskConcerns, "risk-concerns", { v -> edit { it.copy(riskConcerns = v) } }, singleLine = false)
        Field(t(S.Safeguarding), f.safeguardingConcerns, "safeguarding", { v -> edit { it.copy(safeguardingConcerns = v) } }, singleLine = false)
        Field(t(S.VisitNotes), f.notes, "visit-notes", { v -> edit { it.copy(notes = v) } }, singleLine = false)
        Toggle(t(S.Sensitive), f.sensitive, "visit-sensitive") { v -> edit { it.copy(sensitive = v) } }
        Column(Modifier.testTag("follow-up")) {
            Field(t(S.FollowUpLabel), state.followUpAction, "follow-up-action", { onIntent(VisitRecordIntent.FollowUpAction(it)) })
            Field(t(S.FollowUpDue), state.followUpDue, "follow-up-due", { onIntent(VisitRecordIntent.FollowUpDue(it)) })
        }
        if (state.amending) {
            Field(t(S.AmendReason), state.amendReason, "amend-reason", { onIntent(VisitRecordIntent.AmendReason(it)) }, singleLine = false)
            PrimaryButton(t(S.AmendButton), "amend") { onIntent(VisitRecordIntent.Amend) }
        } else {
            ButtonRow {
                SecondaryButton(t(S.SaveDraft), "save-draft") { onIntent(VisitRecordIntent.SaveDraft) }
            }
            PrimaryButton(t(S.Finalise), "finalise") { onIntent(VisitRecordIntent.Finalise) }
        }
    }
}
