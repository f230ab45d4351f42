package app.fieldbook.android

import android.app.AlarmManager
import android.app.Application
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import app.fieldbook.core.AlarmKind
import app.fieldbook.core.ClockSource
import app.fieldbook.core.FieldbookApp
import app.fieldbook.core.NotificationScheduler
import java.io.File
import java.util.TimeZone

/** Holds the one FieldbookApp for the process. */
class FieldbookApplication : Application() {
    lateinit var fieldbook: FieldbookApp
        private set

    override fun onCreate() {
        super.onCreate()
        fieldbook = FieldbookApp(
            File(noBackupFilesDir, "fieldbook.db").path,
            AndroidKeyStore(),
            AndroidClock,
            AlarmScheduler(this),
        )
    }
}

object AndroidClock : ClockSource {
    override fun nowUtcMs(): Long = System.currentTimeMillis()
    override fun utcOffsetMinutes(): Int = TimeZone.getDefault().getOffset(System.currentTimeMillis()) / 60000
    override fun monotonicMs(): ULong = android.os.SystemClock.elapsedRealtime().toULong()
}

/** Schedules the times the core gives; the receiver asks the core what they mean. */
class AlarmScheduler(private val context: Context) : NotificationScheduler {
    private val alarms = context.getSystemService(AlarmManager::class.java)

    private fun intent(visitId: String, kind: AlarmKind?) = PendingIntent.getBroadcast(
        context, (visitId + (kind?.name ?: "")).hashCode(),
        Intent(context, SafetyAlarmReceiver::class.java).putExtra("visit", visitId),
        PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
    )

    override fun schedule(visitId: String, atMs: Long, kind: AlarmKind) {
        alarms.setAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, atMs, intent(visitId, kind))
    }

    override fun cancelAll(visitId: String) {
        AlarmKind.values().forEach { alarms.cancel(intent(visitId, it)) }
    }
}

/** Wakes the core's lone-worker timer; the core decides overdue/escalated. */
class SafetyAlarmReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val app = (context.applicationContext as FieldbookApplication).fieldbook
        val pending = goAsync()
        Thread {
            try {
                val tick = app.hvTick()
                Notifications.show(context, tick)
                app.sync(null)
            } catch (e: Exception) {
                // Locked or no store: nothing to evaluate.
            } finally {
                pending.finish()
            }
        }.start()
    }
}
