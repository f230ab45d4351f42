package app.fieldbook.android

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import app.fieldbook.ui.safety.SafetyNotice
import app.fieldbook.ui.safety.SafetyNotifier

/** Channels and the lone-worker notices. No notice carries a name, address or note; each opens the PIN screen. */
object Notifications {
    const val SAFETY = "safety"
    const val SYNC = "sync"
    /** The ongoing notice while a visit is active (quiet: it is there, it does not buzz). */
    const val VISIT = "visit"

    fun createChannels(context: Context) {
        val nm = context.getSystemService(NotificationManager::class.java) ?: return
        nm.createNotificationChannel(NotificationChannel(SAFETY, "Lone-worker safety", NotificationManager.IMPORTANCE_HIGH).apply {
            lockscreenVisibility = Notification.VISIBILITY_PUBLIC
            setBypassDnd(true)
        })
        nm.createNotificationChannel(NotificationChannel(SYNC, "Sync", NotificationManager.IMPORTANCE_LOW))
        nm.createNotificationChannel(NotificationChannel(VISIT, "Visit in progress", NotificationManager.IMPORTANCE_LOW).apply {
            lockscreenVisibility = Notification.VISIBILITY_PUBLIC
        })
    }
}

class AndroidSafetyNotifier(private val context: Context) : SafetyNotifier {
    override fun show(notice: SafetyNotice) {
        val text = when (notice.kind) {
            SafetyNotice.Kind.ReminderLocked, SafetyNotice.Kind.EndsSoon -> "Your visit is due to end soon. Open Fieldbook to extend or check in."
            SafetyNotice.Kind.OverdueLocked, SafetyNotice.Kind.Overdue -> "Your visit is overdue. Open Fieldbook now to check in or extend."
            SafetyNotice.Kind.EscalationLocked, SafetyNotice.Kind.Escalated -> "Your visit has been escalated to the office. Open Fieldbook."
        }
        val open = PendingIntent.getActivity(
            context, 0, Intent(context, MainActivity::class.java).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK or Intent.FLAG_ACTIVITY_CLEAR_TOP),
            PendingIntent.FLAG_IMMUTABLE,
        )
        val n = Notification.Builder(context, Notifications.SAFETY)
            .setSmallIcon(android.R.drawable.ic_dialog_alert)
            .setContentTitle("Fieldbook safety")
            .setContentText(text)
            .setCategory(Notification.CATEGORY_ALARM)
            .setVisibility(Notification.VISIBILITY_PUBLIC)
            .setContentIntent(open)
            .setAutoCancel(true)
            .build()
        context.getSystemService(NotificationManager::class.java)?.notify(notice.visitId.hashCode(), n)
    }
}
