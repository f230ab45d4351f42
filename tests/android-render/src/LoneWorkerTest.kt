// The lone-worker alarm after process death: the schedule lives in a small
// file, the receiver's logic runs in a fresh "process" whose store is
// locked, and the officer is still told.
package app.fieldbook.render

import app.fieldbook.core.AlarmKind
import app.fieldbook.core.FieldbookApp
import app.fieldbook.core.SafetyStatus
import app.fieldbook.core.StartVisit
import app.fieldbook.ui.English
import app.fieldbook.ui.S
import app.fieldbook.ui.Welsh
import app.fieldbook.ui.safety.AlarmScheduleFile
import app.fieldbook.ui.safety.ArmedAlarm
import app.fieldbook.ui.safety.LoneWorkerAlarmHandler
import app.fieldbook.ui.safety.PersistentScheduler
import app.fieldbook.ui.safety.SafetyNotice
import app.fieldbook.ui.safety.SafetyNotifier
import app.fieldbook.ui.safety.SafetyWatch
import app.fieldbook.ui.safety.rearmAll
import java.io.File
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class Notices : SafetyNotifier {
    val shown = CopyOnWriteArrayList<SafetyNotice>()
    override fun show(notice: SafetyNotice) { shown.add(notice) }
}

class LoneWorkerTest {
    @Test
    fun alarmAfterProcessDeathStillWarnsAndTheCoreDecidesOnceUnlocked() {
        val dir = Files.createTempDirectory("fieldbook-lone").toFile()
        val servers = Servers()
        try {
            val server = servers.start(dir)
            val office = Office(server.url)
            office.call("POST", "/v1/office/officers", """{"id":"po-2","name":"P","role":"probation_officer"}""")
            val case = hexId()
            office.call("PUT", "/v1/office/reference/hv_case/$case", """{"audience":["po-2"],"data":{"crn":"X800009","name":"Dee Name",
                "restricted":false,"addresses":[{"id":"home","text":"9 Secret Street","access_notes":"","main":true}],"risk_level":"low",
                "registrations":[],"staff_risks":[],"known_occupants":[],"assessment":"current","supervision_start":"2026-01-01","last_visit":null}}""")
            val code = office.enrolmentCode("po-2")
            val keys = JvmKeyStore()
            val clock = MovableClock()
            val scheduleFile = File(dir, "no_backup/safety-schedule")
            val schedule = AlarmScheduleFile(scheduleFile)
            val arm = RecordingArm()
            // Process 1: the officer starts a visit; the core schedules its alarms.
            val first = FieldbookApp(File(dir, "d.db").path, keys, clock, PersistentScheduler(schedule, arm))
            first.createStore("po-2", PIN)
            first.configureSync(server.url, listOf())
            kotlinx.coroutines.runBlocking { first.enrol(code, "p") ; first.sync(null).awaitResult() }
            val started = first.hvStartVisit(StartVisit(case, null, null, "Check", listOf("po-2"), 30L, false, null))
            val armed = schedule.entries()
            assertEquals(3, armed.size)
            // The file holds ids, times and kinds only: no name, address or purpose.
            val raw = scheduleFile.readText()
            assertFalse(raw, raw.contains("Dee") || raw.contains("Secret") || raw.contains("Check") || raw.contains("X800009"))
            assertTrue(raw.lines().filter { it.isNotBlank() }.all { it.matches(Regex("[0-9a-f]{32} -?\\d+ (REMINDER|OVERDUE|ESCALATION)")) })
            // The foreground service's wake. The library sent the start to the office's safety lane
            // in the background; one more contact settles it, so the next is due in the core's interval.
            kotlinx.coroutines.runBlocking { first.sendSafety() }
            val watch = SafetyWatch(first, schedule) { clock.nowUtcMs() }
            val running = kotlinx.coroutines.runBlocking { watch.step() }
            assertTrue(running.keepRunning && running.coreAnswered)
            assertEquals("no contact before it is due", null, running.laneConfirmed)
            val due = first.hvTick()
            // It wakes at the earlier of the core's next alarm and its next contact.
            assertEquals(minOf(due.nextWakeMs!!, due.beaconDueMs!!), running.wakeAtMs)
            // Past the core's next contact, the wake contacts the lane, and the next is again one interval on.
            clock.skewMs = due.beaconDueMs!! - System.currentTimeMillis() + 1_000
            val contacted = kotlinx.coroutines.runBlocking { watch.step() }
            assertEquals("contacted, nothing left to confirm", 0uL, contacted.laneConfirmed)
            assertTrue(first.hvTick().beaconDueMs!! > due.beaconDueMs!!)
            clock.skewMs = 0

            // Android kills the process. A reboot re-arms from the file alone.
            val rebootArm = RecordingArm()
            val now = System.currentTimeMillis()
            val rearmed = rearmAll(AlarmScheduleFile(scheduleFile), now, rebootArm)
            assertEquals(armed.toSet(), rearmed.toSet())
            assertEquals(armed.toSet(), rebootArm.armed.toSet())

            // Process 2: the overdue alarm fires; the store is locked (nobody has typed the PIN).
            val overdue = armed.single { it.kind == AlarmKind.OVERDUE }
            clock.skewMs = overdue.atMs - now + 60_000
            val second = FieldbookApp(File(dir, "d.db").path, keys, clock, PersistentScheduler(AlarmScheduleFile(scheduleFile), rebootArm))
            assertFalse(second.isUnlocked())
            // The service restarted in that process cannot ask the core; the schedule file says a visit runs.
            val lockedStep = kotlinx.coroutines.runBlocking { SafetyWatch(second, AlarmScheduleFile(scheduleFile)) { now }.step() }
            assertTrue(lockedStep.keepRunning)
            assertFalse(lockedStep.coreAnswered)
            val notices = Notices()
            val handler = LoneWorkerAlarmHandler(second, AlarmScheduleFile(scheduleFile), notices)
            val shown = handler.onAlarm(overdue)
            // Not silence: the officer is told, with no personal data, to unlock.
            assertEquals(listOf(SafetyNotice(started.visitId, SafetyNotice.Kind.OverdueLocked, loud = true)), shown)
            assertEquals(shown, notices.shown)
            // The escalation alarm is still armed for later.
            assertTrue(AlarmScheduleFile(scheduleFile).entries().any { it.kind == AlarmKind.ESCALATION && it.visitId == started.visitId })
            assertFalse(AlarmScheduleFile(scheduleFile).entries().any { it.kind == AlarmKind.OVERDUE })

            // Once unlocked, the same handler asks the core, which says overdue.
            second.unlock(PIN)
            val after = handler.onAlarm(ArmedAlarm(started.visitId, clock.nowUtcMs(), AlarmKind.OVERDUE))
            assertEquals(listOf(SafetyNotice.Kind.Overdue), after.map { it.kind })
            assertEquals(SafetyStatus.OVERDUE, second.hvTick().visits.single().status)
            // Checking in safe re-schedules through the core, into the file.
            second.hvCheckInSafe(started.visitId)
            assertTrue(AlarmScheduleFile(scheduleFile).entries().any { it.visitId == started.visitId && it.atMs > clock.nowUtcMs() })
            // The visit ends: the core says nothing runs, and the service stops.
            clock.skewMs = 0
            second.hvEndVisit(started.visitId, null)
            // No visit runs: the service keeps going only while the core still has safety events for the office.
            // The library also sends the lane in the background after each safety action, so the
            // step's answer is checked once the lane is drained, not against a tick read later.
            var drained = second.hvTick().beaconDueMs == null
            repeat(20) { if (!drained) { kotlinx.coroutines.runBlocking { second.sendSafety() }; drained = second.hvTick().beaconDueMs == null } }
            assertTrue("the office confirmed every safety event", drained)
            val ended = kotlinx.coroutines.runBlocking { SafetyWatch(second, AlarmScheduleFile(scheduleFile)).step() }
            assertTrue(ended.coreAnswered)
            assertFalse("no visit and nothing left for the office: stop", ended.keepRunning)
            second.lock()
            assertFalse("locked, nothing scheduled: stop", kotlinx.coroutines.runBlocking { SafetyWatch(second, AlarmScheduleFile(scheduleFile)).step() }.keepRunning)
            server.stop()
        } finally {
            servers.close()
            dir.deleteRecursively()
        }
    }

    @Test
    fun welshHasEveryKeyAndFormatsLikeEnglish() {
        val missing = S.entries.filterNot { it in Welsh.table.keys }
        assertTrue("Welsh lacks $missing", missing.isEmpty())
        val englishMissing = S.entries.filterNot { it in English.table.keys }
        assertTrue("English lacks $englishMissing", englishMissing.isEmpty())
        val placeholder = Regex("%[sd]")
        for (k in S.entries) {
            assertEquals("placeholders of $k", placeholder.findAll(English.table.getValue(k)).map { it.value }.toList(),
                placeholder.findAll(Welsh.table.getValue(k)).map { it.value }.toList())
        }
    }
}
