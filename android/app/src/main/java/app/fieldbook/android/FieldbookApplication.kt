package app.fieldbook.android

import android.app.Activity
import android.app.Application
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Bundle
import android.os.SystemClock
import app.fieldbook.core.ClockSource
import app.fieldbook.core.Connectivity
import app.fieldbook.core.FieldbookApp
import app.fieldbook.core.SyncTrigger
import app.fieldbook.ui.Core
import app.fieldbook.ui.Navigator
import app.fieldbook.ui.Route
import app.fieldbook.ui.Strings
import app.fieldbook.ui.safety.AlarmScheduleFile
import app.fieldbook.ui.safety.PersistentScheduler
import java.io.File
import java.util.Locale
import java.util.TimeZone

/**
 * Holds the one FieldbookApp for the process, the navigator, and the
 * platform services the core calls: the Keystore, the clock, exact alarms
 * (through a schedule file that survives process death), connectivity.
 */
class FieldbookApplication : Application() {
    lateinit var fieldbook: FieldbookApp
        private set
    lateinit var core: Core
        private set
    val navigator = Navigator(Route.Unlock)

    /** Lock after this long in the background. */
    var autoLockMs: Long = 5 * 60_000L

    override fun onCreate() {
        super.onCreate()
        Notifications.createChannels(this)
        fieldbook = FieldbookApp(
            File(noBackupFilesDir, "fieldbook.db").path,
            AndroidKeyStore(),
            AndroidClock,
            // A visit's alarms also start the foreground service that keeps its timer running.
            PersistentScheduler(scheduleFile(this), KeepAliveArm(this, ExactAlarmArm(this))),
        )
        fieldbook.setConnectivity(AndroidConnectivity(this))
        core = Core(fieldbook, language = kotlinx.coroutines.flow.MutableStateFlow(stringsFor(Locale.getDefault())), deviceLabel = android.os.Build.MODEL)
        SyncWorker.schedulePeriodic(this)
        watchNetwork()
        registerActivityLifecycleCallbacks(AutoLock())
    }

    private fun stringsFor(locale: Locale): Strings = Strings.forLanguage(locale.language)

    /** Sync on reconnect when the core says so. */
    private fun watchNetwork() {
        getSystemService(ConnectivityManager::class.java)?.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) {
                if (fieldbook.isUnlocked() && fieldbook.shouldSync(SyncTrigger.RECONNECTED)) SyncWorker.runNow(this@FieldbookApplication)
            }
        })
    }

    /** Locks the store once the app has been in the background longer than [autoLockMs]. */
    private inner class AutoLock : ActivityLifecycleCallbacks {
        private var started = 0
        private var backgroundSince = 0L
        override fun onActivityStarted(activity: Activity) {
            if (started++ == 0 && backgroundSince > 0 && SystemClock.elapsedRealtime() - backgroundSince > autoLockMs) {
                fieldbook.lock()
                navigator.reset(Route.Unlock)
            }
        }
        override fun onActivityStopped(activity: Activity) {
            if (--started == 0) backgroundSince = SystemClock.elapsedRealtime()
        }
        override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) {}
        override fun onActivityResumed(activity: Activity) {}
        override fun onActivityPaused(activity: Activity) {}
        override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) {}
        override fun onActivityDestroyed(activity: Activity) {}
    }

    companion object {
        /**
         * The lone-worker schedule: ids, times and kinds only, in
         * device-protected storage so it can be re-armed at boot before
         * the phone is first unlocked.
         */
        fun scheduleFile(context: android.content.Context): AlarmScheduleFile =
            AlarmScheduleFile(File(context.createDeviceProtectedStorageContext().noBackupFilesDir, "safety-schedule"))
    }
}

object AndroidClock : ClockSource {
    override fun nowUtcMs(): Long = System.currentTimeMillis()
    override fun utcOffsetMinutes(): Int = TimeZone.getDefault().getOffset(System.currentTimeMillis()) / 60000
    override fun monotonicMs(): ULong = SystemClock.elapsedRealtime().toULong()
}

class AndroidConnectivity(private val context: android.content.Context) : Connectivity {
    override fun isOnline(): Boolean {
        val cm = context.getSystemService(ConnectivityManager::class.java) ?: return false
        val caps = cm.getNetworkCapabilities(cm.activeNetwork) ?: return false
        return caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) && caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED)
    }
}
