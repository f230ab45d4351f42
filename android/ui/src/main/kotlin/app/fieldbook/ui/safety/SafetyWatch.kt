package app.fieldbook.ui.safety

import app.fieldbook.core.FieldbookApp
import app.fieldbook.core.FieldbookException

/**
 * What the foreground service does each time it wakes while a visit is
 * active: it asks the core (`hvTick`, which records the overdue and
 * escalated transitions and reschedules the alarms) and sleeps until the
 * core's next wake-up. The core alone says whether a visit is running: the
 * service stops when `hvTick` reports none. With the store locked the core
 * cannot be asked; the schedule file (written from the core's own alarms)
 * then says whether a visit is still running, and its exact alarms do the
 * warning. Android-free, so the JVM tests run the same code as the service.
 */
class SafetyWatch(
    private val app: FieldbookApp,
    private val schedule: AlarmScheduleFile,
    private val now: () -> Long = System::currentTimeMillis,
) {
    /** Keep the service (and its notification) or stop it; when to wake next (UTC ms). */
    data class Step(val keepRunning: Boolean, val wakeAtMs: Long, val coreAnswered: Boolean)

    fun step(): Step {
        val t = now()
        return try {
            val tick = app.hvTick()
            if (tick.visits.isEmpty()) return Step(false, t, coreAnswered = true)
            Step(true, wake(t, tick.nextWakeMs), coreAnswered = true)
        } catch (e: FieldbookException) {
            val pending = schedule.entries()
            Step(pending.isNotEmpty(), wake(t, pending.minOfOrNull { it.atMs }), coreAnswered = false)
        }
    }

    private fun wake(t: Long, coreWake: Long?): Long = minOf(coreWake ?: Long.MAX_VALUE, t + HEARTBEAT_MS).coerceAtLeast(t + MIN_SLEEP_MS)

    companion object {
        /**
         * How often the service asks the core again at the latest, whatever
         * the next alarm (a platform heartbeat, not a safety rule: the
         * timings are the core's).
         */
        const val HEARTBEAT_MS = 60_000L
        /** Never spin: at least this long between asks. */
        const val MIN_SLEEP_MS = 1_000L
    }
}
