// A whole field day driven from Kotlin on the JVM through the generated
// bindings, against a real fieldbook-server started by the test.
package app.fieldbook.tests

import app.fieldbook.core.*
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.security.SecureRandom
import java.time.LocalDate
import java.util.TimeZone
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

const val TOKEN = "kotlin-office-token-0123456789"
const val PIN = "274913"

/**
 * The platform key store as an Android shell would write it (AES-GCM), with
 * the user-authentication window of a Keystore key created with
 * setUserAuthenticationRequired(true): while [requireAuthentication] is set
 * and the window has passed, unwrap refuses until [authenticate] is called.
 */
class JvmKeyStore : KeyStore {
    private var key: SecretKey? = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    private val random = SecureRandom()
    @Volatile var requireAuthentication = false
    @Volatile private var authenticatedUntil = 0L

    fun authenticate(validityMs: Long = 30_000) {
        authenticatedUntil = System.currentTimeMillis() + validityMs
    }

    fun holdsKey(): Boolean = key != null

    override fun deleteKey() {
        key = null
    }

    override fun wrap(plaintext: ByteArray): ByteArray {
        val k = key ?: throw KeyStoreFailure.KeyUnavailable()
        val iv = ByteArray(12).also { random.nextBytes(it) }
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, k, GCMParameterSpec(128, iv))
        return iv + cipher.doFinal(plaintext)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray {
        val k = key ?: throw KeyStoreFailure.KeyUnavailable()
        if (requireAuthentication && System.currentTimeMillis() >= authenticatedUntil) {
            throw KeyStoreFailure.UserAuthenticationRequired()
        }
        try {
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, k, GCMParameterSpec(128, wrapped.copyOfRange(0, 12)))
            return cipher.doFinal(wrapped.copyOfRange(12, wrapped.size))
        } catch (e: Exception) {
            throw KeyStoreFailure.KeyUnavailable()
        }
    }
}

class JvmClock : ClockSource {
    override fun nowUtcMs(): Long = System.currentTimeMillis()
    override fun utcOffsetMinutes(): Int = TimeZone.getDefault().getOffset(System.currentTimeMillis()) / 60000
    override fun monotonicMs(): ULong = (System.nanoTime() / 1_000_000).toULong()
}

class RecordingScheduler : NotificationScheduler {
    val scheduled = CopyOnWriteArrayList<Pair<String, AlarmKind>>()
    override fun schedule(visitId: String, atMs: Long, kind: AlarmKind) { scheduled.add(visitId to kind) }
    override fun cancelAll(visitId: String) { scheduled.removeIf { it.first == visitId } }
}

class Lines : LogSink {
    val lines = CopyOnWriteArrayList<Pair<String, String>>()
    override fun log(level: String, message: String) { lines.add(level to message) }
}

class Progress : SyncListener {
    val seen = CopyOnWriteArrayList<SyncProgress>()
    override fun onProgress(progress: SyncProgress) { seen.add(progress) }
}

/** A fieldbook-server process. */
class Server(private val dir: File, port: Int = 0) {
    val process: Process
    val url: String

    init {
        val bin = System.getProperty("fieldbook.server") ?: error("fieldbook.server not set")
        val builder = ProcessBuilder(bin, "--listen", "127.0.0.1:$port", "--db", File(dir, "office.db").path)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
        // The office token comes from the environment, never the command line.
        builder.environment()["FIELDBOOK_OFFICE_TOKEN"] = TOKEN
        process = builder.start()
        val line = process.inputStream.bufferedReader().readLine() ?: error("server printed nothing")
        url = line.removePrefix("listening on ").trim()
    }

    val port: Int get() = URI(url).port
    fun stop() { process.destroy(); process.waitFor(10, TimeUnit.SECONDS) }
}

object Office {
    private val http = HttpClient.newHttpClient()

    fun call(url: String, method: String, path: String, body: String? = null): String {
        val b = HttpRequest.newBuilder(URI("$url$path")).header("Authorization", "Bearer $TOKEN")
        if (body != null) b.header("Content-Type", "application/json")
        b.method(method, if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(body))
        val resp = http.send(b.build(), HttpResponse.BodyHandlers.ofString())
        if (resp.statusCode() !in 200..299) error("office $path: ${resp.statusCode()} ${resp.body()}")
        return resp.body()
    }
}

fun hexId(): String {
    val b = ByteArray(16).also { SecureRandom().nextBytes(it) }
    return b.joinToString("") { "%02x".format(it) }
}

class FieldDayTest {
    companion object {
        private val dir: File = Files.createTempDirectory("fieldbook-kt").toFile()
        private var server: Server? = null

        @AfterClass
        @JvmStatic
        fun cleanUp() {
            server?.stop()
            dir.deleteRecursively()
        }
    }

    private fun reference(url: String): Triple<String, List<String>, String> {
        Office.call(url, "POST", "/v1/office/officers", """{"id":"sup-1","name":"Sup","role":"supervisor"}""")
        val project = hexId()
        val session = hexId()
        val case = hexId()
        val days = """["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]"""
        Office.call(url, "PUT", "/v1/office/reference/upw_project/$project", """{"audience":["sup-1"],"data":{"code":"P1","name":"Park",
            "project_type":"group_placement","travel_time_eligible":false,"address":"Park Rd","beneficiary":"Council","site_contact":"Office",
            "hi_vis_required":true,"hazards":"","risk_notes":"","available_days":$days,"available_from":"00:00:00","available_until":"23:59:00"}}""")
        Office.call(url, "PUT", "/v1/office/reference/upw_session/$session", """{"audience":["sup-1"],"data":{"project_id":"$project",
            "date":"${LocalDate.now()}","planned_start":"00:00:00","planned_end":"23:59:00","supervisor_id":"sup-1","pick_up_point":null,"pick_up_time":null}}""")
        val appointments = mutableListOf<String>()
        for (i in 0 until 3) {
            val req = hexId(); val appt = hexId()
            Office.call(url, "PUT", "/v1/office/reference/upw_requirement/$req", """{"audience":["sup-1"],"data":{"crn":"X90000$i",
                "name":"Person $i","restricted":false,"photo_ref":null,"risk_level":"low","registrations":[],"hours_required":100,
                "minutes_credited_office":0,"order_start":"2020-01-01","order_end":"2099-12-31"}}""")
            Office.call(url, "PUT", "/v1/office/reference/upw_appointment/$appt", """{"audience":["sup-1"],"data":{"session_id":"$session",
                "requirement_id":"$req","crn":"X90000$i","allocated":true,"agreed_absence":null}}""")
            appointments.add(appt)
        }
        Office.call(url, "PUT", "/v1/office/reference/hv_case/$case", """{"audience":["sup-1"],"data":{"crn":"X800001","name":"Casey",
            "restricted":false,"addresses":[{"id":"home","text":"1 Road","access_notes":"Side door","main":true}],"risk_level":"medium",
            "registrations":[],"staff_risks":[{"type":"pairs_only"}],"known_occupants":[],"assessment":"current",
            "supervision_start":"2026-01-01","last_visit":null}}""")
        return Triple(session, appointments, case)
    }

    @Test
    fun wholeFieldDay() = runBlocking<Unit> {
        var srv = Server(dir).also { server = it }
        val (session, appointments, case) = reference(srv.url)
        val code = Regex("\"code\":\"([A-F0-9]+)\"").find(Office.call(srv.url, "POST", "/v1/office/officers/sup-1/enrolment-codes"))!!.groupValues[1]

        val logs = Lines()
        setLogSink(logs)
        val scheduler = RecordingScheduler()
        val keyStore = JvmKeyStore()
        val app = FieldbookApp(File(dir, "device.db").path, keyStore, JvmClock(), scheduler)
        assertFalse(app.storeExists())
        app.createStore("sup-1", PIN)
        app.configureSync(srv.url, listOf())
        val enrolment = app.enrol(code, "kotlin phone")
        assertEquals("supervisor", enrolment.role)
        val first = app.sync(null).awaitResult()
        assertTrue("pulled ${first.pulled}", first.pulled >= 9u)

        // Roll call.
        val roll = withContext(Dispatchers.IO) { app.upwRollCall(session) }
        assertEquals(3, roll.rows.size)
        assertTrue(roll.rows.all { RollCallAction.CHECK_IN in it.actions })
        // Every capture returns the event it wrote: its id and its place in the device's log.
        val pendingBeforeCheckIn = app.outboxSummary().pending
        val arrived = app.upwCheckIn(appointments[0], CheckIn(null, true, true, true))
        assertNotNull("the first tap records the arrival", arrived)
        assertEquals(32, arrived!!.eventId.length)
        assertNull(arrived.recordId)
        assertNull("a double tap records nothing", app.upwCheckIn(appointments[0], CheckIn(null, true, true, true)))
        val dna = app.upwDidNotAttend(appointments[1], true)
        assertTrue("sequence numbers grow", dna.recorded.seq > arrived.seq)
        // The session started, the arrival, the absence: three events, nothing else.
        assertEquals(pendingBeforeCheckIn + 3u, app.outboxSummary().pending)
        val form = app.upwAppointmentForm(appointments[0])
        assertEquals(listOf("ATTC", "AFTC", "ATSH", "ATSS"), form.outcomes.map { it.code })
        // Checked in: every offered code is an attended one, so the compliance questions apply.
        assertTrue(form.outcomes.all { it.asksCompliance })
        assertTrue(app.upwAppointmentForm(appointments[2]).outcomes.single { it.code == "UACP" }.asksCompliance.not())
        assertTrue(form.outcomes.all { it.hint.isNotEmpty() })
        assertEquals(RollCallAction.RECORD_OUTCOME, form.row.actions.single())

        // A home visit with the lone-worker timer. Pairs-only with one officer
        // is refused unless a manager's override is recorded with it.
        try {
            app.hvStartVisit(StartVisit(case, null, null, "Address check", listOf("sup-1"), 30L, false, null))
            fail("a pairs-only case with one officer needs an override")
        } catch (e: FieldbookException.InvalidInput) {
            assertEquals("manager_override", e.field)
            assertEquals("Manager's override", e.label)
        }
        val started = app.hvStartVisit(StartVisit(case, null, null, "Address check", listOf("sup-1"), 30L, false, null,
            true, ManagerOverride("spo-1", "Second officer delayed; police aware")))
        assertTrue(started.warnings.any { it.contains("pairs_only") })
        assertEquals(started.visitId, started.recorded.recordId)
        assertEquals(SafetyStatus.ACTIVE, started.safety.status)
        assertEquals(3, scheduler.scheduled.count { it.first == started.visitId })
        app.hvCheckInSafe(started.visitId)
        val tick = app.hvTick()
        assertEquals(1, tick.visits.size)

        // The office goes away; captures carry on.
        val port = srv.port
        srv.stop()
        val now = System.currentTimeMillis()
        val offset = JvmClock().utcOffsetMinutes()
        val outcome = app.upwRecordOutcome(appointments[0], OutcomeInput("ATTC", Stamp(now - 2 * 3600_000, offset), Stamp(now, offset),
            0L, Rating.GOOD, Rating.GOOD, "Kotlin notes", false, false, null))
        assertEquals(120L, outcome.minutesCredited)
        // What was recorded comes back whole, for a correction to start from.
        val recorded = app.upwAppointmentForm(appointments[0]).current!!
        assertEquals(outcome.recorded.eventId, recorded.eventId)
        assertEquals(now - 2 * 3600_000, recorded.arrival!!.utcMs)
        assertEquals(now, recorded.departure!!.utcMs)
        assertEquals(Rating.GOOD, recorded.workQuality)
        assertNull("no compliance answers were given", recorded.compliance)
        Thread.sleep(1100)
        app.hvEndVisit(started.visitId, null)
        assertTrue(scheduler.scheduled.none { it.first == started.visitId })
        val problems = app.hvSaveDraft(started.visitId, VisitForm("ATTC", listOf("sup-1"), listOf(), Accommodation(Suitability.SUITABLE, Condition.GOOD, "none"),
            "", "", false, listOf(FollowUp("Call landlord", LocalDate.now().plusDays(3).toString(), false)), null, "Seen", false))
        assertTrue("$problems", problems.isEmpty())
        val finalised = app.hvFinalise(started.visitId)
        assertTrue(finalised.seq > dna.recorded.seq)
        val pending = app.pendingCount()
        assertEquals(pending, app.outboxSummary().pending)
        assertEquals(pending, app.outboxSummary().unsent)
        assertTrue(pending > 0u)

        // The sync triggers: offline, the timer does not fire; on demand does.
        var online = false
        app.setConnectivity(object : Connectivity { override fun isOnline() = online })
        assertFalse(app.shouldSync(SyncTrigger.TIMER))
        assertTrue(app.shouldSync(SyncTrigger.ON_DEMAND))
        online = true

        // Offline: a sync keeps retrying; cancelling it returns Cancelled.
        val handle = app.sync(null)
        Thread.sleep(300)
        handle.cancel()
        try {
            handle.awaitResult()
            fail("expected cancellation")
        } catch (e: FieldbookException.Cancelled) {
        }
        assertEquals(pending, app.pendingCount())

        // Back online: sync with progress.
        srv = Server(dir, port).also { server = it }
        val progress = Progress()
        val summary = app.sync(progress).awaitResult()
        assertEquals(pending, summary.accepted)
        assertEquals(0uL, app.pendingCount())
        assertTrue(progress.seen.any { it.phase == SyncPhase.PUSH && it.sent == pending })
        assertEquals(SyncPhase.DONE, progress.seen.last().phase)

        // The office sees it all.
        val attendance = Office.call(srv.url, "GET", "/v1/office/attendance")
        assertTrue(attendance, attendance.contains("\"ATTC\"") && attendance.contains("\"UACP\""))
        val visits = Office.call(srv.url, "GET", "/v1/office/visits")
        assertTrue(visits, visits.contains(started.visitId))
        assertNotNull(app.hvCompleteFollowUp(started.visitId, 0u))
        assertNull("already done: nothing new", app.hvCompleteFollowUp(started.visitId, 0u))
        assertTrue(app.hvPerson(case).openFollowUps.isEmpty())
        assertTrue(app.verifyChain().intact)

        // Typed errors.
        try {
            app.upwRecordOutcome(appointments[2], OutcomeInput("NOPE", null, null, 0L, Rating.GOOD, Rating.GOOD, "", false, false, null))
            fail("expected invalid input")
        } catch (e: FieldbookException.InvalidInput) {
            assertEquals("code", e.field)
            assertEquals("What happened", e.label)
        }
        try {
            app.upwRollCall("not-an-id")
            fail("expected invalid input")
        } catch (e: FieldbookException.InvalidInput) {
        }
        app.lock()
        try {
            app.upwRollCall(session)
            fail("expected locked")
        } catch (e: FieldbookException.Locked) {
        }
        try {
            app.unlock("999999")
            fail("expected wrong pin")
        } catch (e: FieldbookException.WrongPin) {
            assertEquals(9u, e.remainingAttempts)
        }
        // The library's log reached the Kotlin sink, without the PIN.
        assertTrue("${logs.lines}", logs.lines.any { it.first == "warn" && it.second.contains("wrong PIN") })
        assertTrue(logs.lines.none { it.second.contains("999999") || it.second.contains(PIN) })
        // With the key bound to the device's user authentication, unlocking
        // asks the shell to prompt (no attempt is spent); after the prompt it works.
        keyStore.requireAuthentication = true
        try {
            app.unlock(PIN)
            fail("expected user authentication required")
        } catch (e: FieldbookException.UserAuthenticationRequired) {
        }
        assertEquals(1u, app.lockoutStatus().failures)
        keyStore.authenticate()
        app.unlock(PIN)

        // Concurrent calls from coroutines and threads are safe.
        val results = (0 until 16).map { i ->
            async(Dispatchers.Default) {
                when (i % 4) {
                    0 -> app.upwRollCall(session).rows.size
                    1 -> if (app.isUnlocked()) 3 else 0
                    2 -> app.hvTick().visits.size + 3
                    else -> app.upwToday(1u).size + 2
                }
            }
        }.awaitAll()
        assertTrue("$results", results.all { it == 3 })
        val before = app.pendingCount()
        val threads = (0 until 4).map { Thread { repeat(20) { app.upwRollCall(session) } } }
        threads.forEach { it.start() }
        threads.forEach { it.join() }
        // Each roll call recorded its consultation, none lost to a race.
        assertEquals(before + 80u, app.pendingCount())

        // Sync options go with the address and pins, and all of them are kept in the sealed
        // store: after a restart (a new app over the same files), unlock restores them.
        val pin = "ab".repeat(32)
        app.configureSync(srv.url, listOf(pin), SyncOptions(50u, 3_600_000L))
        assertEquals(50u, app.syncSettings()!!.batchSize)
        app.lock()
        val restarted = FieldbookApp(File(dir, "device.db").path, keyStore, JvmClock(), null)
        assertNull("nothing is known before unlock", restarted.syncSettings())
        restarted.unlock(PIN)
        val kept = restarted.syncSettings()!!
        assertEquals(srv.url, kept.serverUrl)
        assertEquals(listOf(pin), kept.pinnedCertSha256)
        assertEquals(50u, kept.batchSize)
        assertEquals(3_600_000L, kept.maxUnsyncedMs)
        // A bad pin is refused with the field in words.
        try {
            restarted.configureSync(srv.url, listOf("zz"))
            fail("expected invalid input")
        } catch (e: FieldbookException.InvalidInput) {
            assertEquals("Certificate pins", e.label)
        }
        assertEquals(listOf(pin), restarted.syncSettings()!!.pinnedCertSha256)
        srv.stop()
        server = null
    }
}
