// The lone-worker safety lane through the bindings: a visit starts, the
// network goes, the office's own clock escalates, someone at the office
// acknowledges, and the phone shows it when it is back.
package app.fieldbook.tests

import app.fieldbook.core.*
import java.io.File
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/** A fieldbook-server whose safety clock runs on an offset file. */
class SafetyServer(dir: File, val offsetFile: File) {
    val process: Process
    val url: String

    init {
        val bin = System.getProperty("fieldbook.server") ?: error("fieldbook.server not set")
        offsetFile.writeText("0")
        val builder = ProcessBuilder(bin, "--listen", "127.0.0.1:0", "--db", File(dir, "office.db").path,
            "--safety-tick-ms", "50", "--test-safety-clock-offset-file", offsetFile.path)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
        builder.environment()["FIELDBOOK_OFFICE_TOKEN"] = TOKEN
        process = builder.start()
        val line = process.inputStream.bufferedReader().readLine() ?: error("server printed nothing")
        url = line.removePrefix("listening on ").trim()
    }

    fun stop() { process.destroy(); process.waitFor(10, TimeUnit.SECONDS) }
}

class SafetyLaneTest {
    companion object {
        private val dir: File = Files.createTempDirectory("fieldbook-kt-safety").toFile()
        private var server: SafetyServer? = null

        @AfterClass
        @JvmStatic
        fun cleanUp() {
            server?.stop()
            dir.deleteRecursively()
        }
    }

    private fun waitFor(what: String, check: () -> Boolean) {
        val until = System.currentTimeMillis() + 10_000
        while (System.currentTimeMillis() < until) {
            if (check()) return
            Thread.sleep(50)
        }
        fail("timed out waiting for $what")
    }

    @Test
    fun theOfficeEscalatesOnItsOwnAndThePhoneSeesTheAcknowledgement() = runBlocking<Unit> {
        val srv = SafetyServer(dir, File(dir, "offset")).also { server = it }
        Office.call(srv.url, "POST", "/v1/office/officers", """{"id":"po-1","name":"Pat","role":"probation_officer"}""")
        val case = hexId()
        Office.call(srv.url, "PUT", "/v1/office/reference/hv_case/$case", """{"audience":["po-1"],"data":{"crn":"X800002","name":"Casey",
            "restricted":false,"addresses":[{"id":"home","text":"1 Road","access_notes":"","main":true}],"risk_level":"medium",
            "registrations":[],"staff_risks":[],"known_occupants":[],"assessment":"current",
            "supervision_start":"2026-01-01","last_visit":null}}""")
        val code = Regex("\"code\":\"([A-F0-9]+)\"").find(Office.call(srv.url, "POST", "/v1/office/officers/po-1/enrolment-codes"))!!.groupValues[1]

        val app = FieldbookApp(File(dir, "device.db").path, JvmKeyStore(), JvmClock(), RecordingScheduler())
        app.createStore("po-1", PIN)
        app.configureSync(srv.url, listOf())
        app.enrol(code, "kotlin phone")
        app.sync(null).awaitResult()

        val started = app.hvStartVisit(StartVisit(case, null, null, "Address check", listOf("po-1"), 30L, false, null))
        // The library already sent the start in the background; this call
        // finds nothing left unconfirmed.
        val lane = app.sendSafety()
        assertEquals("the start reached the office's clock", 0uL, lane.unconfirmed)
        assertNotNull("while a visit runs the lane is contacted again", app.hvTick().beaconDueMs)

        // The network goes: the lane fails, the phone keeps its timer.
        app.configureSync("http://127.0.0.1:9", listOf())
        try {
            app.sendSafety()
            fail("no network")
        } catch (e: FieldbookException.Network) {
        }

        // 61 minutes pass at the office: it escalates on its own.
        srv.offsetFile.writeText((61L * 60_000).toString())
        var alertId = ""
        waitFor("the office's escalation") {
            val alerts = Office.call(srv.url, "GET", "/v1/office/alerts")
            val m = Regex("\"alert_id\":\"([^\"]+)\"").find(alerts)
            if (m != null && alerts.contains("\"level\":\"escalated\"")) { alertId = m.groupValues[1]; true } else false
        }
        assertTrue(alertId.startsWith(started.visitId))
        Office.call(srv.url, "POST", "/v1/office/alerts/$alertId/acknowledge", """{"by":"Sam Monitor","note":"Calling you now"}""")

        // Back online: the phone receives it, shows it, and says it saw it.
        app.configureSync(srv.url, listOf())
        val back = app.sendSafety()
        assertEquals(1uL, back.acknowledgements)
        val ack = app.hvTick().visits.single().officeAck
        assertNotNull("the phone shows the acknowledgement", ack)
        assertEquals("Sam Monitor", ack!!.by)
        assertEquals("Calling you now", ack.note)
        val detail = Office.call(srv.url, "GET", "/v1/office/alerts/$alertId")
        assertTrue(detail, Regex("\"device_seen_ms\":\\d+").containsMatchIn(detail))
        srv.stop()
        server = null
    }
}
