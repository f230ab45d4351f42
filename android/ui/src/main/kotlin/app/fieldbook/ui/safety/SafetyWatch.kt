package app.fieldbook.ui.safety

import app.fieldbook.core.FieldbookApp
import app.fieldbook.core.FieldbookException

/**
 * What the foreground service does each time it wakes while a visit is
 * active: it asks the core (`hvTick`, which records the overdue and
 * escalated transitions and reschedules the alarms), contacts the office's
 * safety lane (`sendSafety`) when the core says a contact is due, and
 * sleeps until the earlier of the core's next wake-up and its next
 * contact. The core alone says whether there is anything to do: the
 * service stops when `hvTick` reports no running visit and no safety event
 * waiting for the office. With the store locked the core cannot be asked;
 * the schedule file (written from the core's own alarms) then says whether
 * a visit is still running, and its exact alarms do the warning.
 * Android-free, so the JVM tests run the same code as the service.
 */
class SafetyWatch(
    private val app: FieldbookApp,
    private val schedule: AlarmScheduleFile,
    private val now: () -> Long = System::currentTimeMillis,
) {
    /**
     * Keep the service (and its notification) or stop it; when to wake next
     * (UTC ms); whether the core answered; if the safety lane was contacted,
     * how many safety events it confirmed and how many acknowledgements it
     * brought.
     */
    data class Step(
        val keepRunning: Boolean,
        val wakeAtMs: Long,
        val coreAnswered: Boolean,
        val laneConfirmed: ULong? = null,
        val laneAcknowledgements: ULong? = null,
    )

    suspend fun step(): Step {
        val t = now()
        return try {
            var tick = app.hvTick()
            var confirmed: ULong? = null
            var acknowledgements: ULong? = null
            var laneFailed = false
            val due = tick.beaconDueMs
            if (due != null && due <= t) {
                try {
                    val lane = app.sendSafety()
                    confirmed = lane.confirmed
                    acknowledgements = lane.acknowledgements
                    if (lane.acknowledgements > 0u) AlarmBus.laneNews()
                } catch (e: FieldbookException) {
                    // Offline or refused: the core's next contact is due at once, so try
                    // again after the core's interval rather than spinning.
                    laneFailed = true
                }
                tick = app.hvTick()
            }
            if (tick.visits.isEmpty() && tick.beaconDueMs == null) return Step(false, t, true, confirmed, acknowledgements)
            val contact = tick.beaconDueMs?.let { if (laneFailed || it <= t) t + tick.beaconIntervalMs else it }
            Step(true, wake(t, listOfNotNull(tick.nextWakeMs, contact).minOrNull()), true, confirmed, acknowledgements)
        } catch (e: FieldbookException) {
            val pending = schedule.entries()
            Step(pending.isNotEmpty(), wake(t, pending.minOfOrNull { it.atMs }), coreAnswered = false)
        }
    }

    private fun wake(t: Long, coreWake: Long?): Long = minOf(coreWake ?: Long.MAX_VALUE, t + HEARTBEAT_MS).coerceAtLeast(t + MIN_SLEEP_MS)

    companion object {
        /**
         * How often the service asks the core again at the latest, whatever
         * the next alarm or contact (a platform heartbeat, not a safety
         * rule: the timings are the core's).
         */
        const val HEARTBEAT_MS = 60_000L
        /** Never spin: at least this long between asks. */
        const val MIN_SLEEP_MS = 1_000L
    }
}
