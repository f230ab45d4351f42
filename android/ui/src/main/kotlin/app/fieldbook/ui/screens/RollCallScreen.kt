package app.fieldbook.ui.screens

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Card
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import app.fieldbook.core.AppointmentStatus
import app.fieldbook.core.CheckIn
import app.fieldbook.core.RollCall
import app.fieldbook.core.RollCallAction
import app.fieldbook.core.RollCallRow
import app.fieldbook.core.RollCallWarning
import app.fieldbook.ui.*

/** What the supervisor is being asked, if anything. */
sealed interface RollCallSheet {
    data class CheckInQuestions(val row: RollCallRow, val identity: Boolean? = null, val hiVisIssued: Boolean? = null, val hiVisWorn: Boolean? = null) : RollCallSheet {
        val answered get() = identity != null && hiVisIssued != null && hiVisWorn != null
    }
    data class DidNotAttend(val row: RollCallRow, val raiseAlert: Boolean? = null) : RollCallSheet
    data class WarningGiven(val row: RollCallRow) : RollCallSheet
    data class StandDown(val reason: String = "") : RollCallSheet
    data class Headcount(val count: String = "") : RollCallSheet
    data class Incident(val text: String = "") : RollCallSheet
    data class Unallocated(val crn: String = "", val name: String = "") : RollCallSheet
    data object EndSession : RollCallSheet
}

data class RollCallState(
    val rollCall: RollCall? = null,
    val sheet: RollCallSheet? = null,
    val notice: String? = null,
    val message: String? = null,
)

sealed interface RollCallIntent {
    data class Act(val row: RollCallRow, val action: RollCallAction) : RollCallIntent
    data class Hours(val row: RollCallRow) : RollCallIntent
    data class Ask(val sheet: RollCallSheet?) : RollCallIntent
    data object Submit : RollCallIntent
    data object Back : RollCallIntent
}

/** A session's roll call: every action the core offers per row, with the questions asked. */
class RollCallPresenter(core: Core, private val nav: Navigator, private val sessionId: String) :
    Presenter<RollCallState>(RollCallState(), core) {
    private val err = { s: RollCallState, m: String -> s.copy(message = m, notice = null) }
    private val words get() = core.language.value

    override fun onShown() = reload(null)

    private fun reload(notice: String?) {
        work(err) {
            val rc = core.app.upwRollCall(sessionId)
            update { it.copy(rollCall = rc, notice = notice, message = null, sheet = null) }
        }
    }

    fun onIntent(i: RollCallIntent) {
        when (i) {
            is RollCallIntent.Act -> when (i.action) {
                RollCallAction.CHECK_IN -> update { it.copy(sheet = RollCallSheet.CheckInQuestions(i.row), notice = null) }
                RollCallAction.DID_NOT_ATTEND -> update { it.copy(sheet = RollCallSheet.DidNotAttend(i.row), notice = null) }
                RollCallAction.RECORD_WARNING_GIVEN -> update { it.copy(sheet = RollCallSheet.WarningGiven(i.row), notice = null) }
                RollCallAction.RECORD_OUTCOME, RollCallAction.CORRECT, RollCallAction.RECORD_AGREED_ABSENCE ->
                    nav.push(Route.Outcome(i.row.appointmentId))
            }
            is RollCallIntent.Hours -> nav.push(Route.Ledger(i.row.appointmentId))
            is RollCallIntent.Ask -> update { it.copy(sheet = i.sheet, message = null) }
            RollCallIntent.Back -> nav.pop()
            RollCallIntent.Submit -> submit(state.value.sheet ?: return)
        }
    }

    private fun submit(sheet: RollCallSheet) {
        work(err) {
            val notice = when (sheet) {
                is RollCallSheet.CheckInQuestions -> {
                    if (!sheet.answered) {
                        update { it.copy(message = words[S.AnswerAll]) }
                        return@work
                    }
                    val recorded = core.app.upwCheckIn(sheet.row.appointmentId, CheckIn(null, sheet.identity!!, sheet.hiVisIssued!!, sheet.hiVisWorn!!))
                    words[if (recorded != null) S.CheckedIn else S.DoubleTap]
                }
                is RollCallSheet.DidNotAttend -> {
                    val alert = sheet.raiseAlert ?: run {
                        update { it.copy(message = words[S.AnswerAll]) }
                        return@work
                    }
                    core.app.upwDidNotAttend(sheet.row.appointmentId, alert)
                    words[S.DnaRecorded]
                }
                is RollCallSheet.WarningGiven -> {
                    core.app.upwRecordWarningGiven(sheet.row.appointmentId)
                    words[S.WarningGivenRecorded]
                }
                is RollCallSheet.StandDown -> words.f(S.StandDownDone, core.app.upwStandDown(sessionId, sheet.reason).outcomesRecorded.toInt())
                is RollCallSheet.Headcount -> {
                    val n = sheet.count.trim().toUIntOrNull() ?: run {
                        update { it.copy(message = words.f(S.ErrInvalid, words[S.HeadcountLabel], sheet.count)) }
                        return@work
                    }
                    words.f(S.HeadcountRecorded, core.app.upwRecordHeadcount(sessionId, n).onSite.toInt())
                }
                is RollCallSheet.Incident -> {
                    core.app.upwRecordIncident(sessionId, sheet.text)
                    words[S.IncidentRecorded]
                }
                is RollCallSheet.Unallocated -> {
                    core.app.upwUnallocatedArrival(sessionId, sheet.crn, sheet.name.ifBlank { null })
                    words[S.CheckedIn]
                }
                RollCallSheet.EndSession -> {
                    core.app.upwEndSession(sessionId)
                    words[S.SessionEnded]
                }
            }
            reload(notice)
        }
    }
}

@Composable
fun statusName(s: AppointmentStatus) = t(
    when (s) {
        AppointmentStatus.EXPECTED -> S.StatusExpected
        AppointmentStatus.ON_SITE -> S.StatusOnSite
        AppointmentStatus.ATTENDED -> S.StatusAttended
        AppointmentStatus.SENT_HOME -> S.StatusSentHome
        AppointmentStatus.ABSENT -> S.StatusAbsent
        AppointmentStatus.RESCHEDULED -> S.StatusRescheduled
        AppointmentStatus.CLOSED_BY_OFFICE -> S.StatusClosedByOffice
    },
)

@Composable
fun actionName(a: RollCallAction) = t(
    when (a) {
        RollCallAction.CHECK_IN -> S.ActionCheckIn
        RollCallAction.DID_NOT_ATTEND -> S.ActionDidNotAttend
        RollCallAction.RECORD_AGREED_ABSENCE -> S.ActionAgreedAbsence
        RollCallAction.RECORD_OUTCOME -> S.ActionRecordOutcome
        RollCallAction.CORRECT -> S.ActionCorrect
        RollCallAction.RECORD_WARNING_GIVEN -> S.ActionWarningGiven
    },
)

@Composable
fun warningText(w: RollCallWarning): String = when (w) {
    is RollCallWarning.Risk -> t(S.WarnRisk, w.level)
    is RollCallWarning.Registrations -> t(S.WarnRegistrations, w.items.joinToString())
    is RollCallWarning.HiVis -> t(S.WarnHiVis)
    is RollCallWarning.HoursNearlyComplete -> t(S.WarnHoursNearlyComplete, w.outstandingMinutes)
    is RollCallWarning.EnforcementHistory -> t(S.WarnEnforcement, w.openItems.toInt())
    is RollCallWarning.Unallocated -> t(S.WarnUnallocated)
    is RollCallWarning.Late -> t(S.WarnLate, w.minutes)
    is RollCallWarning.AfterExpectedEnd -> t(S.WarnAfterExpectedEnd, w.expectedEnd)
    is RollCallWarning.AggregateHoursUnusual -> t(S.WarnAggregateHours, w.hours.toInt())
}

@Composable
fun RollCallView(state: RollCallState, onIntent: (RollCallIntent) -> Unit) {
    val rc = state.rollCall
    ScreenFrame(rc?.summary?.projectName ?: t(S.RollCallTitle), "roll-call", onBack = { onIntent(RollCallIntent.Back) }) {
        state.message?.let { Banner(it, Tone.Error) }
        state.notice?.let { Banner(it, Tone.Notice) }
        if (rc == null) {
            Text(t(S.Loading))
            return@ScreenFrame
        }
        Text(t(S.ArrivedOf, rc.summary.arrived.toInt(), rc.summary.allocated.toInt()) + " · " + sessionStatus(rc.summary.status), Modifier.testTag("arrived"))
        if (rc.hiVisRequired) Text(t(S.HiVisRequired))
        if (rc.hazards.isNotBlank()) Text(t(S.Hazards, rc.hazards))
        Text(syncLine(rc.summary.sync))
        state.sheet?.let { Sheet(it, onIntent) }
        rc.rows.forEachIndexed { index, row ->
            Card(Modifier.fillMaxWidth().testTag("row-$index")) {
                Column(Modifier.padding(12.dp)) {
                    Heading(row.label + if (row.restricted) " · " + t(S.Restricted) else "")
                    Text(
                        row.crn + " · " + statusName(row.status) + (row.outcomeCode?.let { " · $it" } ?: "") +
                            (row.minutesOnSite?.let { " · " + t(S.MinutesOnSite, it) } ?: ""),
                        Modifier.testTag("row-$index-status").semantics { contentDescription = "status ${row.status.name}" },
                    )
                    row.warnings.forEach { Text("⚠ " + warningText(it), Modifier.testTag("row-$index-warning")) }
                    ButtonRow {
                        row.actions.forEach { a ->
                            SecondaryButton(actionName(a), "row-$index-${a.name.lowercase()}") { onIntent(RollCallIntent.Act(row, a)) }
                        }
                        SecondaryButton(t(S.Hours), "row-$index-hours") { onIntent(RollCallIntent.Hours(row)) }
                    }
                }
            }
        }
        Divider()
        ButtonRow {
            SecondaryButton(t(S.Headcount), "headcount") { onIntent(RollCallIntent.Ask(RollCallSheet.Headcount())) }
            SecondaryButton(t(S.Incident), "incident") { onIntent(RollCallIntent.Ask(RollCallSheet.Incident())) }
            SecondaryButton(t(S.Unallocated), "unallocated") { onIntent(RollCallIntent.Ask(RollCallSheet.Unallocated())) }
            SecondaryButton(t(S.StandDown), "stand-down") { onIntent(RollCallIntent.Ask(RollCallSheet.StandDown())) }
            SecondaryButton(t(S.EndSession), "end-session") { onIntent(RollCallIntent.Ask(RollCallSheet.EndSession)) }
        }
    }
}

@Composable
private fun Sheet(sheet: RollCallSheet, onIntent: (RollCallIntent) -> Unit) {
    val cancel = { onIntent(RollCallIntent.Ask(null)) }
    val submit = { onIntent(RollCallIntent.Submit) }
    when (sheet) {
        is RollCallSheet.CheckInQuestions -> ConfirmCard(t(S.CheckInTitle, sheet.row.label), "check-in", t(S.ActionCheckIn), submit, cancel) {
            YesNo(t(S.QIdentity), sheet.identity, "q-identity") { onIntent(RollCallIntent.Ask(sheet.copy(identity = it))) }
            YesNo(t(S.QHiVisIssued), sheet.hiVisIssued, "q-hivis-issued") { onIntent(RollCallIntent.Ask(sheet.copy(hiVisIssued = it))) }
            YesNo(t(S.QHiVisWorn), sheet.hiVisWorn, "q-hivis-worn") { onIntent(RollCallIntent.Ask(sheet.copy(hiVisWorn = it))) }
            if (!sheet.answered) Text(t(S.AnswerAll))
        }
        is RollCallSheet.DidNotAttend -> ConfirmCard(t(S.DnaTitle, sheet.row.label), "dna", t(S.Confirm), submit, cancel) {
            YesNo(t(S.QRaiseAlert), sheet.raiseAlert, "q-alert") { onIntent(RollCallIntent.Ask(sheet.copy(raiseAlert = it))) }
        }
        is RollCallSheet.WarningGiven -> ConfirmCard(t(S.WarningGivenConfirm, sheet.row.label), "warning-given", t(S.Confirm), submit, cancel)
        is RollCallSheet.StandDown -> ConfirmCard(t(S.StandDownConfirm), "stand-down-sheet", t(S.StandDown), submit, cancel) {
            Field(t(S.StandDownReason), sheet.reason, "stand-down-reason", { onIntent(RollCallIntent.Ask(sheet.copy(reason = it))) })
        }
        is RollCallSheet.Headcount -> ConfirmCard(t(S.Headcount), "headcount-sheet", t(S.Save), submit, cancel) {
            Field(t(S.HeadcountLabel), sheet.count, "headcount-count", { onIntent(RollCallIntent.Ask(sheet.copy(count = it))) }, number = true)
        }
        is RollCallSheet.Incident -> ConfirmCard(t(S.Incident), "incident-sheet", t(S.Save), submit, cancel) {
            Field(t(S.IncidentLabel), sheet.text, "incident-text", { onIntent(RollCallIntent.Ask(sheet.copy(text = it))) }, singleLine = false)
        }
        is RollCallSheet.Unallocated -> ConfirmCard(t(S.Unallocated), "unallocated-sheet", t(S.ActionCheckIn), submit, cancel) {
            Field(t(S.UnallocatedCrn), sheet.crn, "unallocated-crn", { onIntent(RollCallIntent.Ask(sheet.copy(crn = it))) })
            Field(t(S.UnallocatedName), sheet.name, "unallocated-name", { onIntent(RollCallIntent.Ask(sheet.copy(name = it))) })
        }
        RollCallSheet.EndSession -> ConfirmCard(t(S.EndSession) + "?", "end-session-sheet", t(S.EndSession), submit, cancel)
    }
}
