package app.fieldbook.android

import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.app.Notification
import app.fieldbook.core.SafetyStatus
import app.fieldbook.core.SafetyTick

/** Renders the core's lone-worker states as notifications (silent alerts stay silent). */
object Notifications {
    fun show(context: Context, tick: SafetyTick) {
        val nm = context.getSystemService(NotificationManager::class.java)
        nm.createNotificationChannel(NotificationChannel("safety", "Lone-worker safety", NotificationManager.IMPORTANCE_HIGH))
        for (v in tick.visits) {
            if (v.silent) continue
            val text = when (v.status) {
                SafetyStatus.OVERDUE -> "Visit overdue: extend or check in"
                SafetyStatus.ESCALATED -> "Visit escalated to the office"
                SafetyStatus.ACTIVE -> if (v.remainingMs < 5 * 60_000) "Visit ends soon: extend or check in" else null
                else -> null
            } ?: continue
            nm.notify(v.visitId.hashCode(), Notification.Builder(context, "safety")
                .setSmallIcon(android.R.drawable.ic_dialog_alert)
                .setContentTitle("Fieldbook")
                .setContentText(text)
                .build())
        }
    }
}
