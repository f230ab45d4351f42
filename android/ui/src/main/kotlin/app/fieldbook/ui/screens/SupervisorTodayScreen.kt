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
import app.fieldbook.core.SessionSummary
import app.fieldbook.core.SyncState
import app.fieldbook.ui.*

data class SupervisorTodayState(
    val sessions: List<SessionSummary> = emptyList(),
    val loaded: Boolean = false,
    val message: String? = null,
)

sealed interface SupervisorTodayIntent {
    data class Open(val sessionId: String) : SupervisorTodayIntent
    data object Sync : SupervisorTodayIntent
    data object Settings : SupervisorTodayIntent
}

/** The supervisor's sessions from today, next first, as the core lists them. */
class SupervisorTodayPresenter(core: Core, private val nav: Navigator) :
    Presenter<SupervisorTodayState>(SupervisorTodayState(), core) {
    override fun onShown() {
        work({ s, m -> s.copy(message = m) }) {
            val sessions = core.app.upwToday(7u)
            update { it.copy(sessions = sessions, loaded = true, message = null) }
        }
    }

    fun onIntent(i: SupervisorTodayIntent) = when (i) {
        is SupervisorTodayIntent.Open -> nav.push(Route.RollCall(i.sessionId))
        SupervisorTodayIntent.Sync -> nav.push(Route.Sync)
        SupervisorTodayIntent.Settings -> nav.push(Route.Settings)
    }
}

@Composable
fun sessionStatus(status: String): String = t(
    when (status) {
        "started" -> S.StatusStarted
        "stood_down" -> S.StatusStoodDown
        "ended" -> S.StatusEnded
        else -> S.StatusPlanned
    },
)

@Composable
fun syncLine(sync: SyncState): String = when (sync) {
    is SyncState.NothingCaptured -> t(S.SyncNothing)
    is SyncState.Synced -> t(S.SyncDone)
    is SyncState.Pending -> t(S.SyncPending, sync.events.toInt())
}

@Composable
fun SupervisorTodayView(state: SupervisorTodayState, onIntent: (SupervisorTodayIntent) -> Unit) {
    ScreenFrame(t(S.TodayTitle), "supervisor-today", actions = {
        BarButton(t(S.SyncTitle), "open-sync") { onIntent(SupervisorTodayIntent.Sync) }
        BarButton(t(S.SettingsTitle), "open-settings") { onIntent(SupervisorTodayIntent.Settings) }
    }) {
        state.message?.let { Banner(it, Tone.Error) }
        if (state.loaded && state.sessions.isEmpty()) Text(t(S.NoSessions))
        state.sessions.forEach { s ->
            Card(Modifier.fillMaxWidth().testTag("session-${s.sessionId}")) {
                Column(Modifier.padding(12.dp)) {
                    Heading(t(S.SessionLine, s.projectName, s.plannedStart.take(5), s.plannedEnd.take(5)))
                    Text("${s.date} · ${sessionStatus(s.status)}")
                    Text(t(S.SessionCounts, s.arrived.toInt(), s.allocated.toInt(), s.didNotAttend.toInt(), s.sentHome.toInt(), s.outcomesMissing.toInt()))
                    Text(syncLine(s.sync), Modifier.testTag("session-sync"))
                    SecondaryButton(t(S.OpenRollCall), "open-${s.sessionId}") { onIntent(SupervisorTodayIntent.Open(s.sessionId)) }
                }
            }
        }
    }
}
