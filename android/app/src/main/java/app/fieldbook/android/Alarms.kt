package app.fieldbook.android

import android.app.AlarmManager
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.os.Build
import app.fieldbook.core.AlarmKind
import app.fieldbook.ui.safety.AlarmArm
import app.fieldbook.ui.safety.ArmedAlarm
import app.fieldbook.ui.safety.LoneWorkerAlarmHandler
import app.fieldbook.ui.safety.rearmAll

private const val EXTRA_VISIT = "visit"
private const val EXTRA_AT = "at"
private const val EXTRA_KIND = "kind"

/** Exact alarms (inexact if the person has not granted exact alarms), the visit, time and kind in the intent. */
class ExactAlarmArm(private val context: Context) : AlarmArm {
    private val alarms: AlarmManager = checkNotNull(context.getSystemService(AlarmManager::class.java)) { "no AlarmManager" }

    private fun pending(visitId: String, kind: AlarmKind, atMs: Long?, flags: Int): PendingIntent? {
        val intent = Intent(context, SafetyAlarmReceiver::class.java).setAction("app.fieldbook.SAFETY_ALARM")
            .setData(android.net.Uri.parse("fieldbook-alarm://$visitId/${kind.name}"))
            .putExtra(EXTRA_VISIT, visitId).putExtra(EXTRA_KIND, kind.name)
        if (atMs != null) intent.putExtra(EXTRA_AT, atMs)
        return PendingIntent.getBroadcast(context, 0, intent, PendingIntent.FLAG_IMMUTABLE or flags)
    }

    override fun arm(alarm: ArmedAlarm) {
        val p = pending(alarm.visitId, alarm.kind, alarm.atMs, PendingIntent.FLAG_UPDATE_CURRENT) ?: return
        if (Build.VERSION.SDK_INT < 31 || alarms.canScheduleExactAlarms()) {
            alarms.setExactAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, alarm.atMs, p)
        } else {
            alarms.setAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, alarm.atMs, p)
        }
    }

    override fun disarm(visitId: String, kind: AlarmKind) {
        pending(visitId, kind, null, PendingIntent.FLAG_NO_CREATE)?.let { alarms.cancel(it); it.cancel() }
    }
}

/**
 * A lone-worker alarm. Works after process death: everything it needs is
 * in the intent and the schedule file; the core decides what the alarm
 * means when the store is unlocked, and a locked store still warns.
 */
class SafetyAlarmReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val visit = intent.getStringExtra(EXTRA_VISIT) ?: return
        val kind = runCatching { AlarmKind.valueOf(intent.getStringExtra(EXTRA_KIND) ?: "") }.getOrNull() ?: return
        val at = intent.getLongExtra(EXTRA_AT, System.currentTimeMillis())
        val app = context.applicationContext as FieldbookApplication
        // An exact alarm may start the foreground service again if Android stopped it.
        SafetyService.start(context)
        val pending = goAsync()
        Thread {
            try {
                LoneWorkerAlarmHandler(app.fieldbook, FieldbookApplication.scheduleFile(context), AndroidSafetyNotifier(context))
                    .onAlarm(ArmedAlarm(visit, at, kind))
            } finally {
                pending.finish()
            }
        }.start()
    }
}

/** Re-arms every alarm in the schedule file after a reboot or an app update. */
class BootReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        when (intent.action) {
            Intent.ACTION_BOOT_COMPLETED, Intent.ACTION_LOCKED_BOOT_COMPLETED, Intent.ACTION_MY_PACKAGE_REPLACED,
            AlarmManager.ACTION_SCHEDULE_EXACT_ALARM_PERMISSION_STATE_CHANGED -> {
                val dp = context.createDeviceProtectedStorageContext()
                val rearmed = rearmAll(FieldbookApplication.scheduleFile(dp), System.currentTimeMillis(), ExactAlarmArm(context))
                // A visit was running when the phone went down: keep its timer company again.
                if (rearmed.isNotEmpty() && intent.action != Intent.ACTION_LOCKED_BOOT_COMPLETED) SafetyService.start(context)
            }
        }
    }
}
