package app.fieldbook.android

import android.app.Notification
import android.app.PendingIntent
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.Build
import android.os.IBinder
import app.fieldbook.core.AlarmKind
import app.fieldbook.ui.safety.AlarmArm
import app.fieldbook.ui.safety.ArmedAlarm
import app.fieldbook.ui.safety.SafetyWatch
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch

/**
 * Keeps the process (and so the unlocked store and the lone-worker timer)
 * alive while a home visit is active, with an ongoing notification that
 * carries no personal data. Type `specialUse` (API 34+): a visit lasts as
 * long as it lasts, so `shortService` (about three minutes) cannot cover
 * it, and no other type (location, dataSync…) describes a safety timer.
 * Each wake runs [SafetyWatch]: the core says when to wake and whether a
 * visit is still running; the service stops itself when none is.
 */
class SafetyService : Service() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    private var loop: Job? = null

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        val n = ongoing(this)
        if (Build.VERSION.SDK_INT >= 34) {
            startForeground(NOTIFICATION_ID, n, ServiceInfo.FOREGROUND_SERVICE_TYPE_SPECIAL_USE)
        } else {
            startForeground(NOTIFICATION_ID, n)
        }
        running = true
        if (loop?.isActive != true) {
            val app = application as FieldbookApplication
            val watch = SafetyWatch(app.fieldbook, FieldbookApplication.scheduleFile(this))
            loop = scope.launch {
                while (isActive) {
                    val step = watch.step()
                    if (!step.keepRunning) break
                    delay((step.wakeAtMs - System.currentTimeMillis()).coerceAtLeast(SafetyWatch.MIN_SLEEP_MS))
                }
                stopForeground(STOP_FOREGROUND_REMOVE)
                stopSelf()
            }
        }
        // Restarted by the system after it had to kill the process: the loop asks the
        // schedule file (the store is locked then) whether a visit is still running.
        return START_STICKY
    }

    override fun onDestroy() {
        running = false
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        private const val NOTIFICATION_ID = 7001

        @Volatile
        private var running = false

        /** Starts the service if it is not running (from the foreground, an exact alarm or boot). */
        fun start(context: Context) {
            if (running) return
            runCatching { context.startForegroundService(Intent(context, SafetyService::class.java)) }
        }

        /** The ongoing notice: no name, address or note; opens the PIN screen. */
        private fun ongoing(context: Context): Notification {
            val open = PendingIntent.getActivity(
                context, 1, Intent(context, MainActivity::class.java).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK or Intent.FLAG_ACTIVITY_CLEAR_TOP),
                PendingIntent.FLAG_IMMUTABLE,
            )
            return Notification.Builder(context, Notifications.VISIT)
                .setSmallIcon(android.R.drawable.ic_lock_idle_alarm)
                .setContentTitle("Fieldbook safety")
                .setContentText("A visit is in progress: the lone-worker timer is running.")
                .setCategory(Notification.CATEGORY_SERVICE)
                .setVisibility(Notification.VISIBILITY_PUBLIC)
                .setOngoing(true)
                .setContentIntent(open)
                .build()
        }
    }
}

/** Arms the core's alarms and, since the core only schedules alarms for a running visit, starts the service. */
class KeepAliveArm(private val context: Context, private val inner: AlarmArm) : AlarmArm {
    override fun arm(alarm: ArmedAlarm) {
        inner.arm(alarm)
        SafetyService.start(context)
    }

    override fun disarm(visitId: String, kind: AlarmKind) = inner.disarm(visitId, kind)
}
