package app.fieldbook.ui.screens

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Card
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.fieldbook.core.FieldbookException
import app.fieldbook.core.ManagerOverride
import app.fieldbook.core.StartVisit
import app.fieldbook.core.VisitDue
import app.fieldbook.ui.*

/** A core warning or staff risk (JSON from the core) in plain text. */
fun plainJson(s: String): String =
    s.replace(Regex("[{}\"\\[\\]]"), "").replace("type:", "").replace(":", ": ").replace(",", ", ").replace('_', ' ').trim()

data class OfficerTodayState(val visits: List<VisitDue> = emptyList(), val loaded: Boolean = false, val message: String? = null)

sealed interface OfficerTodayIntent {
    data class Start(val caseId: String) : OfficerTodayIntent
    data class History(val caseId: String) : OfficerTodayIntent
    data object Sync : OfficerTodayIntent
    data object Settings : OfficerTodayIntent
}

/** Today's visits, overdue first, as the core orders them. */
class OfficerTodayPresenter(core: Core, private val nav: Navigator) : Presenter<OfficerTodayState>(OfficerTodayState(), core) {
    override fun onShown() {
        work({ s, m -> s.copy(message = m) }) {
            val v = core.app.hvToday()
            update { it.copy(visits = v, loaded = true, message = null) }
        }
    }

    fun onIntent(i: OfficerTodayIntent) = when (i) {
        is OfficerTodayIntent.Start -> nav.push(Route.StartVisit(i.caseId))
        is OfficerTodayIntent.History -> nav.push(Route.Person(i.caseId))
        OfficerTodayIntent.Sync -> nav.push(Route.Sync)
        OfficerTodayIntent.Settings -> nav.push(Route.Settings)
    }
}

@Composable
fun OfficerTodayView(state: OfficerTodayState, onIntent: (OfficerTodayIntent) -> Unit) {
    ScreenFrame(t(S.VisitsTitle), "officer-today", actions = {
        BarButton(t(S.SyncTitle), "open-sync") { onIntent(OfficerTodayIntent.Sync) }
        BarButton(t(S.SettingsTitle), "open-settings") { onIntent(OfficerTodayIntent.Settings) }
    }) {
        state.message?.let { Banner(it, Tone.Error) }
        if (state.loaded && state.visits.isEmpty()) Text(t(S.NoVisits))
        state.visits.forEachIndexed { index, v ->
            Card(Modifier.fillMaxWidth().testTag("visit-$index")) {
                Column(Modifier.padding(12.dp)) {
                    Heading("${v.label} · ${v.crn}")
                    Text(v.address)
                    Text(if (v.overdueDays > 0) t(S.VisitOverdue, v.overdueDays) else t(S.VisitDue, v.due))
                    Text(t(S.WarnRisk, v.riskLevel))
                    if (v.staffRisks.isNotEmpty()) Banner(t(S.RisksToStaff, v.staffRisks.joinToString { plainJson(it) }), Tone.Error, "staff-risks-$index")
                    if (v.accessNotes.isNotBlank()) Text(t(S.AccessNotes, v.accessNotes))
                    ButtonRow {
                        SecondaryButton(t(S.StartVisit), "start-$index") { onIntent(OfficerTodayIntent.Start(v.caseId)) }
                        SecondaryButton(t(S.VisitHistory), "history-$index") { onIntent(OfficerTodayIntent.History(v.caseId)) }
                    }
                }
            }
        }
    }
}

data class StartVisitState(
    val due: VisitDue? = null,
    val purpose: String = "",
    val officers: String = "",
    val minutes: String = "",
    val locationConsent: Boolean = false,
    val arranged: Boolean = false,
    /** The core refused the start until a manager overrides: its reason, shown as given. */
    val overrideNeeded: String? = null,
    val managerId: String = "",
    val overrideReason: String = "",
    val startedVisitId: String? = null,
    val warnings: List<String> = emptyList(),
    val message: String? = null,
)

sealed interface StartVisitIntent {
    data class Edit(val f: (StartVisitState) -> StartVisitState) : StartVisitIntent
    data object Start : StartVisitIntent
    data object StartWithOverride : StartVisitIntent
    data object Continue : StartVisitIntent
    data object Back : StartVisitIntent
}

/** Address, purpose, officers present, expected duration, location consent; then the core's warnings. */
class StartVisitPresenter(core: Core, private val nav: Navigator, private val caseId: String) :
    Presenter<StartVisitState>(StartVisitState(), core) {
    override fun onShown() {
        if (state.value.due != null) return
        work({ s, m -> s.copy(message = m) }) {
            val due = core.app.hvToday().firstOrNull { it.caseId == caseId }
            val me = core.app.deviceEnrolment()?.officerId ?: ""
            update { it.copy(due = due, purpose = due?.purpose ?: "", officers = me) }
        }
    }

    fun onIntent(i: StartVisitIntent) {
        when (i) {
            is StartVisitIntent.Edit -> update(i.f)
            StartVisitIntent.Back -> nav.pop()
            StartVisitIntent.Continue -> state.value.startedVisitId?.let { nav.pop(); nav.push(Route.ActiveVisit(it)) }
            StartVisitIntent.Start -> start(withOverride = false)
            StartVisitIntent.StartWithOverride -> start(withOverride = true)
        }
    }

    private fun start(withOverride: Boolean) = work({ s, m -> s.copy(message = m) }) {
        val s = state.value
        val minutes = s.minutes.trim().toLongOrNull() ?: -1L
        val input = StartVisit(
            caseId, null, s.due?.scheduledVisitId, s.purpose,
            s.officers.split(',').map { it.trim() }.filter { it.isNotEmpty() }, minutes, s.locationConsent, null,
            arranged = s.arranged,
            managerOverride = if (withOverride) ManagerOverride(s.managerId.trim(), s.overrideReason) else null,
        )
        try {
            val started = core.app.hvStartVisit(input)
            update { it.copy(startedVisitId = started.visitId, warnings = started.warnings, message = null) }
        } catch (e: FieldbookException.InvalidInput) {
            // A safety prerequisite is unmet: the core says which; the officer may ask a manager.
            if (e.field == "manager_override") {
                update { it.copy(overrideNeeded = e.reason, message = null) }
            } else {
                throw e
            }
        }
    }
}

@Composable
fun StartVisitView(state: StartVisitState, onIntent: (StartVisitIntent) -> Unit) {
    val edit = { g: (StartVisitState) -> StartVisitState -> onIntent(StartVisitIntent.Edit(g)) }
    ScreenFrame(t(S.StartVisitTitle, state.due?.label ?: ""), "start-visit", onBack = { onIntent(StartVisitIntent.Back) }) {
        state.message?.let { Banner(it, Tone.Error) }
        state.due?.let {
            Text(it.address)
            if (it.accessNotes.isNotBlank()) Text(t(S.AccessNotes, it.accessNotes))
        }
        if (state.startedVisitId != null) {
            Banner(t(S.SafetyActive), Tone.Notice, "started")
            state.warnings.forEach { Banner(t(S.Warning, plainJson(it)), Tone.Error, "start-warning") }
            PrimaryButton(t(S.Continue), "continue") { onIntent(StartVisitIntent.Continue) }
            return@ScreenFrame
        }
        Field(t(S.Purpose), state.purpose, "purpose", { v -> edit { it.copy(purpose = v) } })
        Field(t(S.OfficersPresent), state.officers, "officers", { v -> edit { it.copy(officers = v) } })
        Field(t(S.ExpectedMinutes), state.minutes, "minutes", { v -> edit { it.copy(minutes = v) } }, number = true)
        Toggle(t(S.LocationConsent), state.locationConsent, "location-consent") { v -> edit { it.copy(locationConsent = v) } }
        Toggle(t(S.ArrangedVisit), state.arranged, "arranged") { v -> edit { it.copy(arranged = v) } }
        val why = state.overrideNeeded
        if (why == null) {
            PrimaryButton(t(S.Start), "start") { onIntent(StartVisitIntent.Start) }
        } else {
            Banner(t(S.OverrideNeeded) + ": " + why, Tone.Error, "override-needed")
            Field(t(S.ManagerIdLabel), state.managerId, "manager-id", { v -> edit { it.copy(managerId = v) } })
            Field(t(S.OverrideReasonLabel), state.overrideReason, "override-reason", { v -> edit { it.copy(overrideReason = v) } }, singleLine = false)
            PrimaryButton(t(S.StartWithOverride), "start-with-override") { onIntent(StartVisitIntent.StartWithOverride) }
            SecondaryButton(t(S.Start), "start") { onIntent(StartVisitIntent.Start) }
        }
    }
}
