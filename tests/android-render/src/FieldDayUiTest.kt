// A whole field day driven through the Compose UI (the same source the
// Android app compiles) against the real libfieldbook_ffi and a real
// fieldbook-server process. Every screen is written to build/screens/.
package app.fieldbook.render

import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.graphics.toAwtImage
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.semantics.getOrNull
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.assertIsEnabled
import androidx.compose.ui.test.assertIsNotEnabled
import androidx.compose.ui.test.onAllNodesWithTag
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextClearance
import androidx.compose.ui.test.performTextInput
import androidx.compose.ui.unit.Density
import androidx.lifecycle.ViewModel
import app.fieldbook.core.AlarmKind
import app.fieldbook.core.FieldbookApp
import app.fieldbook.ui.Core
import app.fieldbook.ui.FieldbookRoot
import app.fieldbook.ui.Navigator
import app.fieldbook.ui.PresenterHost
import app.fieldbook.ui.Route
import app.fieldbook.ui.safety.AlarmArm
import app.fieldbook.ui.safety.AlarmBus
import app.fieldbook.ui.safety.AlarmScheduleFile
import app.fieldbook.ui.safety.ArmedAlarm
import app.fieldbook.ui.safety.PersistentScheduler
import java.io.File
import kotlin.reflect.KClass
import java.nio.file.Files
import java.time.LocalDate
import java.util.concurrent.CopyOnWriteArrayList
import javax.imageio.ImageIO
import kotlin.coroutines.EmptyCoroutineContext
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

const val PIN = "274913"
const val NEW_PIN = "583104"

/** Presenters kept for the test's life (the app keeps them in ViewModelStores). */
class MapHost : PresenterHost {
    private val presenters = HashMap<String, ViewModel>()

    @Composable
    override fun <P : ViewModel> presenterOf(key: String, type: KClass<P>, create: () -> P): P =
        remember(key) { type.java.cast(presenters.getOrPut(key, create)) }
}

class RecordingArm : AlarmArm {
    val armed = CopyOnWriteArrayList<ArmedAlarm>()
    override fun arm(alarm: ArmedAlarm) { armed.add(alarm) }
    override fun disarm(visitId: String, kind: AlarmKind) { armed.removeIf { it.visitId == visitId && it.kind == kind } }
}

@OptIn(ExperimentalTestApi::class)
class FieldDayUiTest {
    private val screens = File(System.getProperty("fieldbook.screens") ?: "build/screens").also { it.mkdirs() }
    private val driver = Driver(screens)
    private val dir: File = Files.createTempDirectory("fieldbook-render").toFile()

    private fun publishSupervisorDay(office: Office): Pair<List<String>, String> {
        office.call("POST", "/v1/office/officers", """{"id":"sup-1","name":"Sam Supervisor","role":"supervisor"}""")
        val days = """["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]"""
        val project = hexId()
        office.call("PUT", "/v1/office/reference/upw_project/$project", """{"audience":["sup-1"],"data":{"code":"P1","name":"Riverside Park",
            "project_type":"group_placement","travel_time_eligible":false,"address":"Park Rd","beneficiary":"Council","site_contact":"Office",
            "hi_vis_required":true,"hazards":"Strimmers, river bank","risk_notes":"","available_days":$days,"available_from":"00:00:00","available_until":"23:59:00"}}""")
        val sessions = listOf(hexId(), hexId())
        sessions.forEach { session ->
            office.call("PUT", "/v1/office/reference/upw_session/$session", session(project, "sup-1"))
        }
        val names = listOf("Alex Jones", "Bea Smith", "Cal Evans")
        for (i in names.indices) {
            val req = hexId(); val appt = hexId()
            // The first person has office adjustments either way and ETE minutes among those credited.
            val adjustments = if (i == 0) """[{"direction":"positive","minutes":60,"reason_code":"OTH","date":"2026-01-10"},
                {"direction":"negative","minutes":30,"reason_code":"TTX","date":"2026-01-11"}]""" else "[]"
            val ete = if (i == 0) 120 else 0
            office.call("PUT", "/v1/office/reference/upw_requirement/$req", """{"audience":["sup-1"],"data":{"crn":"X9000$i",
                "name":"${names[i]}","restricted":false,"photo_ref":null,"risk_level":"low","registrations":[],"hours_required":100,
                "minutes_credited_office":600,"ete_minutes_credited_office":$ete,"adjustments":$adjustments,
                "order_start":"2020-01-01","order_end":"2099-12-31","warnings":[]}}""")
            office.call("PUT", "/v1/office/reference/upw_appointment/$appt", """{"audience":["sup-1"],"data":{"session_id":"${sessions[0]}",
                "requirement_id":"$req","crn":"X9000$i","allocated":true,"agreed_absence":null}}""")
        }
        return sessions to project
    }

    private fun session(project: String, audience: String) = """{"audience":["$audience"],"data":{"project_id":"$project",
            "date":"${LocalDate.now()}","planned_start":"00:00:00","planned_end":"23:59:00","supervisor_id":"sup-1","pick_up_point":null,"pick_up_time":null}}"""

    @Test
    fun supervisorFieldDay() {
        val servers = Servers()
        try {
            var server = servers.start(dir)
            val office = Office(server.url)
            val (sessions, project) = publishSupervisorDay(office)
            val code = office.enrolmentCode("sup-1")
            val app = FieldbookApp(File(dir, "supervisor.db").path, JvmKeyStore(), MovableClock(), null)
            val core = Core(app, deviceLabel = "render phone")
            val nav = Navigator(Route.Unlock)
            with(driver) { run {
                setContent { FieldbookRoot(core, nav, MapHost()) }
                // First run: create the PIN.
                await("create-pin")
                type("officer-id", "sup-1")
                type("pin", PIN)
                type("pin-again", "111111")
                click("create-pin")
                awaitText("error", "not the same")
                type("pin-again", PIN)
                shot("01-create-pin")
                click("create-pin")
                // Enrolment, then the first sync.
                await("screen-enrol")
                type("server", server.url)
                type("code", code)
                shot("02-enrol")
                click("enrol")
                awaitText("enrolled", "Community Payback supervisor")
                shot("03-enrolled")
                click("continue")
                // Today.
                await("session-${sessions[0]}")
                shot("04-supervisor-today")
                click("open-${sessions[0]}")
                // Roll call.
                await("row-2")
                assertTrue(text("row-0-status").contains("Expected"))
                shot("05-roll-call")
                // Check-in: the questions are asked and must all be answered.
                click("row-0-check_in")
                await("check-in")
                click("q-identity-yes")
                click("q-hivis-issued-yes")
                click("check-in-confirm")
                awaitText("error", "Answer every question")
                click("q-hivis-worn-yes")
                shot("06-check-in-questions")
                click("check-in-confirm")
                awaitText("notice", "Checked in")
                awaitText("row-0-status", "On site")
                // Did not attend, with the alert choice asked.
                click("row-1-did_not_attend")
                click("q-alert-yes")
                shot("07-did-not-attend")
                click("dna-confirm")
                awaitText("row-1-status", "Absent")
                shot("08-roll-call-after")
                // A warning given on site for the enforceable absence, with a confirmation; offered once only.
                click("row-1-record_warning_given")
                await("warning-given")
                shot("08a-warning-given-confirm")
                click("warning-given-confirm")
                awaitText("notice", "Warning recorded")
                assertTrue("warning offered again", !exists("row-1-record_warning_given"))
                // Outcome: a validation error from the core, then a valid outcome.
                click("row-0-record_outcome")
                await("code-ATTC")
                click("code-ATTC")
                type("arrival", "23:59")
                click("quality-good")
                click("behaviour-good")
                type("notes", "Worked well on the river path")
                // Compliance in the national steps: leaving early without saying why is refused by the core.
                click("q-can-work-yes")
                click("q-compliance-hivis-yes")
                click("q-intensive-no")
                click("q-left-early-yes")
                await("left-early-reason")
                click("review-button")
                await("review-errors")
                onNodeWithTag("record").assertIsNotEnabled()
                assertTrue(text("review-errors"), text("review-errors").contains("Departure time") || text("review-errors").contains("Arrival time"))
                // The field in the core's words, never its name.
                assertTrue(text("review-errors"), text("review-errors").contains("Why they left early"))
                assertTrue(text("review-errors"), !text("review-errors").contains("compliance.") && !text("review-errors").contains("_"))
                shot("09-outcome-validation-error")
                // A valid outcome: an hour on site, ending at the departure the form proposes.
                val departure = java.time.LocalTime.parse(value("departure"))
                type("departure", departure.toString())
                type("arrival", maxOf(java.time.LocalTime.MIDNIGHT, departure.minusMinutes(60)).toString())
                click("q-left-early-no")
                click("review-button")
                await("review")
                awaitText("review", "minutes will be credited")
                onNodeWithTag("record").performScrollTo().assertIsEnabled()
                shot("10-outcome-review")
                click("record")
                awaitText("recorded", "Outcome recorded")
                shot("11-outcome-recorded")
                click("done")
                awaitText("row-0-status", "ATTC")
                // A correction needs a reason; the core keeps the history.
                click("row-0-correct")
                await("correction-reason")
                // The correction starts from what was recorded: its times and compliance answers.
                assertEquals(maxOf(java.time.LocalTime.MIDNIGHT, departure.minusMinutes(60)).toString(), value("arrival"))
                assertEquals(departure.toString(), value("departure"))
                await("compliance-step")
                type("notes", "Worked well on the river path; left tools tidy")
                type("correction-reason", "Notes completed after the session")
                val until = java.time.LocalTime.parse(value("departure"))
                type("departure", until.toString())
                type("arrival", maxOf(java.time.LocalTime.MIDNIGHT, until.minusMinutes(60)).toString())
                click("quality-good")
                click("behaviour-excellent")
                click("review-button")
                await("review")
                shot("12a-correction-review")
                click("record")
                awaitText("recorded", "Outcome recorded")
                click("done")
                awaitText("row-0-status", "ATTC")
                // A headcount: the core compares it with the roll call.
                click("headcount")
                type("headcount-count", "1")
                click("headcount-sheet-confirm")
                awaitText("notice", "Headcount recorded")
                // The person's ledger.
                click("row-0-hours")
                await("ledger-credited")
                assertTrue(text("ledger-required"), text("ledger-required").contains("100 h"))
                assertTrue(text("ledger-positive-adjustment"), text("ledger-positive-adjustment").contains("1 h 00 min"))
                assertTrue(text("ledger-negative-adjustment"), text("ledger-negative-adjustment").contains("0 h 30 min"))
                assertTrue(text("ledger-ete"), text("ledger-ete").contains("2 h 00 min of 30 h 00 min"))
                awaitText("ledger-warnings", "No warnings given")
                shot("12-ledger")
                click("back")
                // The warning given on site is on the second person's ledger, dated today.
                click("row-1-hours")
                awaitText("ledger-warnings", LocalDate.now().toString())
                click("back")
                // The office goes away; captures carry on.
                val port = server.port
                server.stop()
                await("row-2-check_in")
                click("row-2-check_in")
                click("q-identity-yes"); click("q-hivis-issued-no"); click("q-hivis-worn-no")
                click("check-in-confirm")
                awaitText("row-2-status", "On site")
                click("incident")
                type("incident-text", "Strimmer guard cracked; taken out of use")
                click("incident-sheet-confirm")
                awaitText("notice", "Incident recorded")
                click("stand-down")
                type("stand-down-reason", "Heavy rain, river rising")
                shot("13-stand-down-confirm")
                click("stand-down-sheet-confirm")
                awaitText("notice", "stood down")
                shot("14-stood-down")
                click("back")
                // Offline sync: it keeps trying until cancelled; nothing is lost.
                click("open-sync")
                await("pending")
                val pendingBefore = text("pending").filter { it.isDigit() }.toInt()
                assertTrue("pending $pendingBefore", pendingBefore > 0)
                click("sync-now")
                await("syncing")
                shot("15-sync-offline-running")
                click("cancel-sync")
                awaitText("sync-result", "cancelled")
                assertEquals(pendingBefore, app.outboxSummary().pending.toInt())
                // Back online.
                server = servers.start(dir, port)
                click("sync-now")
                awaitText("sync-result", "Sent $pendingBefore, refused 0")
                awaitText("pending", "0")
                shot("16-sync-done")
                val attendance = office.call("GET", "/v1/office/attendance")
                assertTrue(attendance, attendance.contains("\"ATTC\"") && attendance.contains("\"UACP\""))
                // A capture the office refuses: it withdrew the second session.
                office.call("PUT", "/v1/office/reference/upw_session/${sessions[1]}", session(project, "sup-2"))
                click("back")
                click("open-${sessions[1]}")
                click("incident")
                type("incident-text", "Van late to depot")
                click("incident-sheet-confirm")
                awaitText("notice", "Incident recorded")
                click("back")
                click("open-sync")
                click("sync-now")
                awaitText("sync-result", "refused 1")
                await("quarantined-0")
                shot("17-quarantine")
                // The office puts it right; the supervisor sends it again with a reason.
                office.call("PUT", "/v1/office/reference/upw_session/${sessions[1]}", session(project, "sup-1"))
                type("resubmit-reason-0", "Office restored the depot session")
                click("resubmit-0")
                awaitText("sync-result", "Sent again")
                // The correction goes with what else is waiting (the withdrawn session's erasure is logged
                // and sent too): everything waiting is sent and nothing is refused.
                val waiting = app.outboxSummary().pending.toInt()
                assertTrue("pending $waiting", waiting >= 1)
                click("sync-now")
                awaitText("sync-result", "Sent $waiting, refused 0")
                await("quarantine-empty")
                shot("18-quarantine-cleared")
                assertEquals(0, app.outboxSummary().quarantined.toInt())
                // Settings: the chain verifies; lock; a wrong PIN; unlock.
                click("back")
                click("open-settings")
                awaitText("chain", "verified")
                shot("19-settings")
                // Change the PIN; the new one unlocks below.
                type("old-pin", PIN)
                type("new-pin", NEW_PIN)
                click("change-pin")
                awaitText("notice", "PIN changed")
                click("lock-now")
                await("unlock")
                type("pin", "999999")
                click("unlock")
                awaitText("error", "9 attempts left")
                shot("20-wrong-pin")
                type("pin", NEW_PIN)
                click("unlock")
                await("screen-supervisor-today")
                // Welsh.
                click("open-settings")
                click("language")
                click("back")
                awaitText("open-sync", "Cysoni")
                shot("21-today-welsh")
                assertTouchTargets()
                click("open-settings")
                click("language")
                click("back")
                awaitText("open-sync", "Sync")
            } }
            // Text at 200 %: the roll call still shows every row and every action, in reach.
            with(Driver(screens, fontScale = 2f)) { run {
                setContent { FieldbookRoot(core, nav, MapHost()) }
                click("open-${sessions[0]}")
                await("row-2")
                shot("22-roll-call-text-200pc")
                assertTouchTargets()
                click("row-0-hours")
                await("ledger-outstanding")
                shot("23-ledger-text-200pc")
                click("back")
                click("row-2-hours")
                awaitText("ledger-required", "100 h")
                assertEquals(2, shots.size)
            } }
            assertTrue(app.verifyChain().intact)
            server.stop()
            assertEquals(23, driver.shots.size)
        } finally {
            servers.close()
            dir.deleteRecursively()
        }
    }
}
