// The probation officer's day through the UI: a home visit with the
// lone-worker timer running late, the alarm, check-in safe, the visit
// record with the core's validation, finalise and sync.
package app.fieldbook.render

import androidx.compose.ui.graphics.toAwtImage
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.semantics.getOrNull
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.onAllNodesWithTag
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextClearance
import androidx.compose.ui.test.performTextInput
import androidx.compose.ui.unit.Density
import app.fieldbook.core.AlarmKind
import app.fieldbook.core.FieldbookApp
import app.fieldbook.core.SafetyStatus
import app.fieldbook.ui.Core
import app.fieldbook.ui.FieldbookRoot
import app.fieldbook.ui.Navigator
import app.fieldbook.ui.Route
import app.fieldbook.ui.safety.AlarmBus
import app.fieldbook.ui.safety.AlarmScheduleFile
import app.fieldbook.ui.safety.PersistentScheduler
import java.io.File
import java.nio.file.Files
import java.time.LocalDate
import javax.imageio.ImageIO
import kotlin.coroutines.EmptyCoroutineContext
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

@OptIn(ExperimentalTestApi::class)
class OfficerDayUiTest {
    private val screens = File(System.getProperty("fieldbook.screens") ?: "build/screens").also { it.mkdirs() }
    private val driver = Driver(screens)
    private val dir: File = Files.createTempDirectory("fieldbook-render-po").toFile()

    @Test
    fun officerVisitDay() {
        val servers = Servers()
        try {
            val server = servers.start(dir)
            val office = Office(server.url)
            office.call("POST", "/v1/office/officers", """{"id":"po-1","name":"Pat Officer","role":"probation_officer"}""")
            val case = hexId()
            office.call("PUT", "/v1/office/reference/hv_case/$case", """{"audience":["po-1"],"data":{"crn":"X800001","name":"Casey Morgan",
                "restricted":false,"addresses":[{"id":"home","text":"1 Mill Road, Bangor","access_notes":"Side door; dog in garden","main":true}],
                "risk_level":"medium","registrations":[],"staff_risks":[{"type":"pairs_only"}],"known_occupants":[],"assessment":"current",
                "supervision_start":"2026-01-01","last_visit":null}}""")
            val code = office.enrolmentCode("po-1")
            val clock = MovableClock()
            val arm = RecordingArm()
            val schedule = AlarmScheduleFile(File(dir, "safety/schedule.txt"))
            val app = FieldbookApp(File(dir, "officer.db").path, JvmKeyStore(), clock, PersistentScheduler(schedule, arm))
            val core = Core(app, deviceLabel = "officer phone")
            val nav = Navigator(Route.Unlock)
            with(driver) { run {
                setContent { FieldbookRoot(core, nav, MapHost()) }
                await("create-pin")
                type("officer-id", "po-1")
                type("pin", PIN)
                type("pin-again", PIN)
                click("create-pin")
                type("server", server.url)
                type("code", code)
                click("enrol")
                awaitText("enrolled", "Probation officer")
                click("continue")
                // A different home screen: today's visits, with the risks to staff.
                await("visit-0")
                awaitText("staff-risks-0", "pairs only")
                shot("30-officer-today")
                click("start-0")
                await("purpose")
                type("purpose", "Address check")
                type("minutes", "30")
                click("arranged")
                shot("31-start-visit")
                // A pairs-only case with one officer: the core refuses the start until a manager overrides.
                click("start")
                awaitText("override-needed", "pairs only")
                assertTrue("started without an override", !exists("started"))
                type("manager-id", "spo-3")
                click("start-with-override")
                awaitText("error", "say why")
                // The core's label for the field, not its path ("manager override.reason").
                awaitText("error", "Reason for the override")
                assertTrue(text("error"), !text("error").contains("manager override") && !text("error").contains("manager_override"))
                type("override-reason", "Urgent address check; second officer delayed")
                shot("31a-start-visit-override")
                click("start-with-override")
                await("started")
                awaitText("start-warning", "pairs")
                shot("32-visit-warnings")
                click("continue")
                awaitText("safety-active", "min left")
                shot("33-active-visit")
                // The core scheduled the alarms; they are in the schedule file too.
                val alarms = schedule.entries()
                assertEquals(alarms.map { it.kind }.toSet(), setOf(AlarmKind.REMINDER, AlarmKind.OVERDUE, AlarmKind.ESCALATION))
                assertEquals(alarms.toSet(), arm.armed.toSet())
                // The visit runs late; the overdue alarm fires while the app is open.
                val overdue = alarms.single { it.kind == AlarmKind.OVERDUE }
                clock.skewMs = overdue.atMs - System.currentTimeMillis() + 60_000
                AlarmBus.post(AlarmBus.Fired(overdue.visitId, AlarmKind.OVERDUE))
                await("safety-overdue")
                shot("34-visit-overdue")
                click("safe")
                await("safety-active")
                // The phone's clock is put right again (the office refuses requests signed
                // minutes away from its own time); the core's timer never runs backwards.
                clock.skewMs = 0
                click("extend")
                awaitText("safety-active", "min left")
                // A silent alert reaches the core, and the screen looks exactly as before.
                click("silent-alert")
                until("the core records the silent alert") {
                    app.hvActiveVisit(overdue.visitId).safety.let { it.status == SafetyStatus.ALERT && it.silent }
                }
                assertTrue(exists("safety-active") && !exists("safety-alert"))
                shot("34a-silent-alert-looks-normal")
                click("end-visit")
                shot("35-end-visit-confirm")
                click("end-visit-sheet-confirm")
                // The record: finalising without an outcome is refused by the core.
                await("visit-outcome-ATTC")
                assertTrue("alarms cancelled", schedule.entries().none { it.visitId == overdue.visitId })
                click("finalise")
                awaitText("validation", "outcome")
                shot("36-visit-record-validation")
                click("visit-outcome-ATTC")
                // Seen (ATTC) and "nobody answered" contradict each other: the core says so.
                click("no-answer")
                click("save-draft")
                awaitText("validation", "there was an answer")
                click("no-answer")
                click("suitability-suitable")
                click("condition-good")
                type("visit-notes", "Seen at home; address confirmed")
                type("follow-up-action", "Call landlord")
                type("follow-up-due", LocalDate.now().plusDays(3).toString())
                click("save-draft")
                await("draft-saved")
                shot("37-visit-record-draft")
                click("finalise")
                awaitText("finalised", "finalised")
                shot("38-visit-finalised")
                click("done")
                await("screen-officer-today")
                click("open-sync")
                click("sync-now")
                awaitText("sync-result", "refused 0")
                awaitText("pending", "0")
                shot("39-officer-synced")
                // Four wrong PINs: the core imposes its first delay and the screen says how long.
                click("back")
                click("open-settings")
                click("lock-now")
                for (i in 1..4) {
                    type("pin", "00000$i")
                    click("unlock")
                    if (i < 4) awaitText("error", "${10 - i} attempts left")
                }
                awaitText("lockout", "Try again in")
                awaitText("error", "6 attempts left")
                shot("40-locked-out-wait")
            } }
            val visits = office.call("GET", "/v1/office/visits")
            assertTrue(visits, visits.contains("ATTC"))
            server.stop()
            assertEquals(13, driver.shots.size)
        } finally {
            servers.close()
            dir.deleteRecursively()
        }
    }
}
