// The flows the two field days leave out, driven through the same UI against
// the real core and a real server: an unallocated arrival, an agreed absence
// (no compliance questions, as the core says), ending a session, the office's
// re-enable code after ten wrong PINs; and for an officer the visit history,
// a loud alert, an amendment with its reason and a follow-up marked done.
package app.fieldbook.render

import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.assertIsEnabled
import androidx.compose.ui.test.onNodeWithTag
import app.fieldbook.core.FieldbookApp
import app.fieldbook.ui.Core
import app.fieldbook.ui.FieldbookRoot
import app.fieldbook.ui.Navigator
import app.fieldbook.ui.Route
import app.fieldbook.ui.safety.AlarmScheduleFile
import app.fieldbook.ui.safety.SafetyWatch
import java.io.File
import java.nio.file.Files
import java.time.LocalDate
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

@OptIn(ExperimentalTestApi::class)
class MoreFlowsUiTest {
    private val screens = File(System.getProperty("fieldbook.screens") ?: "build/screens").also { it.mkdirs() }

    @Test
    fun supervisorEndsTheSessionAndTheOfficeReenablesTheApp() {
        val dir = Files.createTempDirectory("fieldbook-render-more").toFile()
        val driver = Driver(screens)
        val servers = Servers()
        try {
            val server = servers.start(dir)
            val office = Office(server.url)
            office.call("POST", "/v1/office/officers", """{"id":"sup-9","name":"Sky Supervisor","role":"supervisor"}""")
            val days = """["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]"""
            val project = hexId()
            office.call("PUT", "/v1/office/reference/upw_project/$project", """{"audience":["sup-9"],"data":{"code":"P9","name":"Canal Towpath",
                "project_type":"group_placement","travel_time_eligible":false,"address":"Canal St","beneficiary":"Trust","site_contact":"Office",
                "hi_vis_required":false,"hazards":"","risk_notes":"","available_days":$days,"available_from":"00:00:00","available_until":"23:59:00"}}""")
            val session = hexId()
            office.call("PUT", "/v1/office/reference/upw_session/$session", """{"audience":["sup-9"],"data":{"project_id":"$project",
                "date":"${LocalDate.now()}","planned_start":"00:00:00","planned_end":"23:59:00","supervisor_id":"sup-9","pick_up_point":null,"pick_up_time":null}}""")
            // Dan is booked; Eve is booked with a medical absence the office agreed.
            listOf("Dan Price" to null, "Eve Hall" to "AAME").forEachIndexed { i, (name, agreed) ->
                val req = hexId(); val appt = hexId()
                office.call("PUT", "/v1/office/reference/upw_requirement/$req", """{"audience":["sup-9"],"data":{"crn":"X7100$i",
                    "name":"$name","restricted":false,"photo_ref":null,"risk_level":"low","registrations":[],"hours_required":100,
                    "minutes_credited_office":0,"ete_minutes_credited_office":0,"adjustments":[],
                    "order_start":"2020-01-01","order_end":"2099-12-31","warnings":[]}}""")
                val agreedJson = if (agreed == null) "null" else "\"$agreed\""
                office.call("PUT", "/v1/office/reference/upw_appointment/$appt", """{"audience":["sup-9"],"data":{"session_id":"$session",
                    "requirement_id":"$req","crn":"X7100$i","allocated":true,"agreed_absence":$agreedJson}}""")
            }
            val code = office.enrolmentCode("sup-9")
            val clock = MovableClock()
            val app = FieldbookApp(File(dir, "sup.db").path, JvmKeyStore(), clock, null)
            val core = Core(app, deviceLabel = "render phone 3")
            val nav = Navigator(Route.Unlock)
            val officeCode = "OFFICE-REENABLE-4711-0815"
            with(driver) { run {
                setContent { FieldbookRoot(core, nav, MapHost()) }
                await("create-pin")
                type("officer-id", "sup-9")
                type("pin", PIN)
                type("pin-again", PIN)
                click("create-pin")
                type("server", server.url)
                type("code", code)
                click("enrol")
                awaitText("enrolled", "Community Payback supervisor")
                // The office's one-time re-enable code reaches the device ahead of any lock-out
                // (a fixture here: the sync lane does not carry it yet).
                app.setOfficeResetCode(officeCode)
                click("continue")
                click("open-$session")
                await("row-1")
                click("row-0-check_in")
                click("q-identity-yes"); click("q-hivis-issued-yes"); click("q-hivis-worn-yes")
                click("check-in-confirm")
                awaitText("row-0-status", "On site")
                // Someone turns up who is not on the list: recorded, not refused.
                click("unallocated")
                type("unallocated-crn", "Z77777")
                type("unallocated-name", "Finn Lee")
                shot("50-unallocated-arrival")
                click("unallocated-sheet-confirm")
                awaitText("notice", "Checked in")
                await("row-2")
                awaitText("row-2-warning", "Not allocated to this session")
                awaitText("row-2-status", "On site")
                shot("51-roll-call-with-unallocated")
                // Ending the session before every outcome is in: the core refuses, in words.
                click("end-session")
                shot("52-end-session-confirm")
                click("end-session-sheet-confirm")
                awaitText("error", "Session: 3 appointments still need an outcome")
                // The agreed absence: the compliance questions are not asked for it (the core's rule).
                click("row-1-record_agreed_absence")
                await("code-AAME")
                assertTrue("no compliance step before a code", !exists("compliance-step"))
                click("code-AAME")
                assertTrue("no compliance step for an absence", !exists("compliance-step"))
                click("review-button")
                await("review")
                shot("53-agreed-absence-review")
                click("record")
                awaitText("recorded", "Outcome recorded")
                click("done")
                awaitText("row-1-status", "Absent")
                // Attended outcomes for the other two: the compliance step is there for ATTC.
                for (row in listOf(0, 2)) {
                    click("row-$row-record_outcome")
                    await("code-ATTC")
                    click("code-ATTC")
                    await("compliance-step")
                    val departure = java.time.LocalTime.parse(value("departure"))
                    type("departure", departure.toString())
                    type("arrival", maxOf(java.time.LocalTime.MIDNIGHT, departure.minusMinutes(30)).toString())
                    click("quality-good")
                    click("behaviour-good")
                    click("review-button")
                    await("review")
                    click("record")
                    awaitText("recorded", "Outcome recorded")
                    click("done")
                    awaitText("row-$row-status", "ATTC")
                }
                click("end-session")
                click("end-session-sheet-confirm")
                awaitText("notice", "Session ended")
                awaitText("arrived", "Ended")
                shot("54-session-ended")
                // Ten wrong PINs: the core's escalating delays, then only the office can re-enable.
                click("back")
                click("open-settings")
                click("lock-now")
                await("unlock")
                var attempts = 0
                while (!exists("reenable-code")) {
                    assertTrue("locked out by the tenth wrong PIN", attempts < 10)
                    // The test waits out each delay the core imposes by moving the phone's clock on.
                    val wait = app.lockoutStatus().retryAfterMs
                    if (wait > 0) clock.skewMs += wait + 1_000
                    type("pin", "00000${attempts % 10}")
                    click("unlock")
                    attempts++
                    until("wrong PIN $attempts counted") { app.lockoutStatus().failures.toInt() >= attempts }
                    until("the screen shows the core's answer") {
                        exists("reenable-code") || runCatching { onNodeWithTag("unlock").assertIsEnabled() }.isSuccess
                    }
                }
                assertEquals(10, attempts)
                awaitText("lockout", "Ask the office")
                shot("55-locked-out-office")
                type("reenable-code", "NOT-THE-CODE-0000000")
                click("reenable")
                awaitText("error", "Office code: not accepted")
                type("reenable-code", officeCode)
                shot("56-reenable-code")
                click("reenable")
                await("unlock")
                assertEquals(0, app.lockoutStatus().failures.toInt())
                type("pin", PIN)
                click("unlock")
                await("screen-supervisor-today")
                shot("57-reenabled-today")
            } }
            val attendance = app.upwRollCall(session).rows.map { it.outcomeCode }
            assertEquals(listOf("ATTC", "AAME", "ATTC"), attendance)
            assertTrue(app.verifyChain().intact)
            assertEquals(8, driver.shots.size)
        } finally {
            servers.close()
            dir.deleteRecursively()
        }
    }

    @Test
    fun officerHistoryAmendmentAndFollowUps() {
        val dir = Files.createTempDirectory("fieldbook-render-hist").toFile()
        val driver = Driver(screens)
        val servers = Servers()
        try {
            val server = servers.start(dir)
            val office = Office(server.url)
            office.call("POST", "/v1/office/officers", """{"id":"po-7","name":"Pip Officer","role":"probation_officer"}""")
            val case = hexId()
            office.call("PUT", "/v1/office/reference/hv_case/$case", """{"audience":["po-7"],"data":{"crn":"X800077","name":"Gwen Rees",
                "restricted":false,"addresses":[{"id":"home","text":"7 Quay Street, Caernarfon","access_notes":"","main":true}],
                "risk_level":"low","registrations":[],"staff_risks":[],"known_occupants":[],"assessment":"current",
                "supervision_start":"2026-01-01","last_visit":null}}""")
            val code = office.enrolmentCode("po-7")
            val clock = MovableClock()
            val app = FieldbookApp(File(dir, "po.db").path, JvmKeyStore(), clock, null)
            val core = Core(app, deviceLabel = "officer phone 2")
            var alertId = ""
            val nav = Navigator(Route.Unlock)
            val due = LocalDate.now().plusDays(5).toString()
            with(driver) { run {
                setContent { FieldbookRoot(core, nav, MapHost()) }
                await("create-pin")
                type("officer-id", "po-7")
                type("pin", PIN)
                type("pin-again", PIN)
                click("create-pin")
                type("server", server.url)
                type("code", code)
                click("enrol")
                awaitText("enrolled", "Probation officer")
                click("continue")
                // Nothing recorded yet.
                click("history-0")
                await("screen-person")
                awaitText("no-history", "No visits recorded on this phone")
                click("back")
                // A visit, ended and finalised with a follow-up.
                click("start-0")
                type("purpose", "Home visit")
                type("minutes", "30")
                click("start")
                await("started")
                click("continue")
                await("safety-active")
                // A loud alert: the screen says so (unlike the silent one), and the office hears of it at the next sync.
                click("alert")
                awaitText("safety-alert", "ALERT RAISED")
                shot("59-loud-alert")
                // The alert reaches the office's safety lane with the tap; the office acknowledges it.
                val idPattern = Regex("\"alert_id\":\"([^\"]+)\"")
                until("the alert at the office") { idPattern.find(office.call("GET", "/v1/office/alerts")) != null }
                alertId = idPattern.find(office.call("GET", "/v1/office/alerts"))!!.groupValues[1]
                office.call("POST", "/v1/office/alerts/$alertId/acknowledge", """{"by":"Duty manager","note":"Police on the way"}""")
                // The foreground service's next wake, at the core's interval, contacts the lane and brings it.
                clock.skewMs = 31_000
                val watch = SafetyWatch(app, AlarmScheduleFile(File(dir, "safety-schedule"))) { clock.nowUtcMs() }
                val wake = kotlinx.coroutines.runBlocking { watch.step() }
                assertTrue(wake.keepRunning)
                assertEquals(1uL, wake.laneAcknowledgements)
                awaitText("office-ack", "The office has acknowledged (Duty manager")
                awaitText("office-ack-note", "Police on the way")
                shot("59a-office-acknowledged")
                click("end-visit")
                click("end-visit-sheet-confirm")
                await("visit-outcome-ATTC")
                click("visit-outcome-ATTC")
                click("suitability-suitable")
                click("condition-good")
                type("visit-notes", "Seen at home")
                type("follow-up-action", "Call the landlord")
                type("follow-up-due", due)
                click("finalise")
                awaitText("finalised", "finalised")
                // The history: the visit with its outcome, the open follow-up, the next visit due (the core's).
                click("open-history")
                await("screen-person")
                awaitText("history-0-text", "ATTC")
                awaitText("history-0-text", "unplanned")
                awaitText("follow-up-0-text", "Call the landlord (due $due)")
                awaitText("next-due", "Next visit due")
                shot("60-visit-history")
                // An amendment needs a reason; the core says so, with the field in words.
                click("history-0-amend")
                await("amend-reason")
                // A finalised record opens as an amendment: no draft, no finalise.
                assertTrue(exists("amend") && !exists("finalise") && !exists("save-draft"))
                type("visit-notes", "Seen at home; tenancy confirmed with the landlord")
                click("amend")
                awaitText("error", "Reason: an amendment needs a reason")
                type("amend-reason", "Landlord confirmed the tenancy by phone")
                shot("61-visit-amend")
                assertTouchTargets()
                click("amend")
                awaitText("amended", "Amendment recorded")
                click("done")
                awaitText("history-0-text", "1 amendments")
                shot("62-history-after-amend")
                // The follow-up done: it leaves the open list; the amendment kept it open until now.
                click("follow-up-0-done")
                awaitText("notice", "Follow-up marked done")
                await("no-follow-ups")
                shot("63-follow-up-done")
                click("back")
                await("screen-officer-today")
                click("open-sync")
                click("sync-now")
                awaitText("sync-result", "refused 0")
                awaitText("pending", "0")
                // Nothing runs and nothing waits for the office: the service would stop.
                assertTrue(!kotlinx.coroutines.runBlocking { SafetyWatch(app, AlarmScheduleFile(File(dir, "safety-schedule"))) { clock.nowUtcMs() }.step() }.keepRunning)
            } }
            val person = app.hvPerson(case)
            assertEquals(1, person.history.size)
            assertEquals(1u, person.history[0].amendments)
            assertTrue(person.openFollowUps.isEmpty())
            val visits = office.call("GET", "/v1/office/visits")
            assertTrue(visits, visits.contains("tenancy confirmed"))
            // The office knows the officer saw its acknowledgement.
            val detail = office.call("GET", "/v1/office/alerts/$alertId")
            assertTrue(detail, Regex("\"device_seen_ms\":\\d+").containsMatchIn(detail))
            assertEquals(6, driver.shots.size)
        } finally {
            servers.close()
            dir.deleteRecursively()
        }
    }
}
