package app.fieldbook.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import app.fieldbook.core.FieldbookApp
import app.fieldbook.ui.screens.*
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** Where the person is. Routes carry ids only, never personal data. */
sealed interface Route {
    data object Unlock : Route
    data object Enrol : Route
    data object SupervisorToday : Route
    data class RollCall(val sessionId: String) : Route
    data class Outcome(val appointmentId: String) : Route
    data class Ledger(val appointmentId: String) : Route
    data object OfficerToday : Route
    data class StartVisit(val caseId: String) : Route
    data class ActiveVisit(val visitId: String) : Route
    data class VisitRecord(val visitId: String) : Route
    data class Person(val caseId: String) : Route
    data object Sync : Route
    data object Settings : Route
}

/** One visit to a screen: a fresh presenter each time the screen is pushed, kept while it is on the stack. */
data class Entry(val route: Route, val serial: Long) {
    val key: String get() = "$serial/$route"
}

/** The back stack. */
class Navigator(start: Route = Route.Unlock) {
    private val serials = java.util.concurrent.atomic.AtomicLong()
    private fun entry(r: Route) = Entry(r, serials.incrementAndGet())
    private val stack = MutableStateFlow(listOf(entry(start)))
    val routes: StateFlow<List<Entry>> = stack.asStateFlow()
    val current: Route get() = stack.value.last().route
    fun push(r: Route) = stack.update { it + entry(r) }
    fun pop() = stack.update { if (it.size > 1) it.dropLast(1) else it }
    fun reset(r: Route) = stack.update { listOf(entry(r)) }

    /** The home screen for the device's enrolment, as the core records it. */
    fun home(app: FieldbookApp) {
        val enrolment = app.deviceEnrolment()
        reset(
            when (enrolment?.role) {
                null -> Route.Enrol
                "supervisor" -> Route.SupervisorToday
                else -> Route.OfficerToday
            },
        )
    }
}

/** The whole app: the current route's presenter and view. */
@Composable
fun FieldbookRoot(core: Core, nav: Navigator, host: PresenterHost) {
    val routes by host.collect(nav.routes)
    val strings by host.collect(core.language)
    FieldbookTheme(strings) {
        val entry = routes.last()
        when (val r = entry.route) {
            Route.Unlock -> {
                val p = host.presenter(entry.key) { UnlockPresenter(core, nav) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                UnlockView(host.collect(p.state).value, p::onIntent)
            }
            Route.Enrol -> {
                val p = host.presenter(entry.key) { EnrolPresenter(core, nav) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                EnrolView(host.collect(p.state).value, p::onIntent)
            }
            Route.SupervisorToday -> {
                val p = host.presenter(entry.key) { SupervisorTodayPresenter(core, nav) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                SupervisorTodayView(host.collect(p.state).value, p::onIntent)
            }
            is Route.RollCall -> {
                val p = host.presenter(entry.key) { RollCallPresenter(core, nav, r.sessionId) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                RollCallView(host.collect(p.state).value, p::onIntent)
            }
            is Route.Outcome -> {
                val p = host.presenter(entry.key) { OutcomePresenter(core, nav, r.appointmentId) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                OutcomeView(host.collect(p.state).value, p::onIntent)
            }
            is Route.Ledger -> {
                val p = host.presenter(entry.key) { LedgerPresenter(core, nav, r.appointmentId) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                LedgerView(host.collect(p.state).value) { nav.pop() }
            }
            Route.OfficerToday -> {
                val p = host.presenter(entry.key) { OfficerTodayPresenter(core, nav) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                OfficerTodayView(host.collect(p.state).value, p::onIntent)
            }
            is Route.StartVisit -> {
                val p = host.presenter(entry.key) { StartVisitPresenter(core, nav, r.caseId) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                StartVisitView(host.collect(p.state).value, p::onIntent)
            }
            is Route.ActiveVisit -> {
                val p = host.presenter(entry.key) { ActiveVisitPresenter(core, nav, r.visitId) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                ActiveVisitView(host.collect(p.state).value, p::onIntent)
            }
            is Route.VisitRecord -> {
                val p = host.presenter(entry.key) { VisitRecordPresenter(core, nav, r.visitId) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                VisitRecordView(host.collect(p.state).value, p::onIntent)
            }
            is Route.Person -> {
                val p = host.presenter(entry.key) { PersonPresenter(core, nav, r.caseId) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                PersonView(host.collect(p.state).value, p::onIntent)
            }
            Route.Sync -> {
                val p = host.presenter(entry.key) { SyncPresenter(core, nav) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                SyncView(host.collect(p.state).value, p::onIntent)
            }
            Route.Settings -> {
                val p = host.presenter(entry.key) { SettingsPresenter(core, nav) }
                LaunchedEffect(p, routes.size) { p.onShown() }
                SettingsView(host.collect(p.state).value, p::onIntent)
            }
        }
    }
}
