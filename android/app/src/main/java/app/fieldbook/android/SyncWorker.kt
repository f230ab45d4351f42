package app.fieldbook.android

import android.content.Context
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequest
import androidx.work.PeriodicWorkRequest
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import app.fieldbook.core.FieldbookException
import app.fieldbook.core.SyncTrigger
import java.util.concurrent.TimeUnit

/**
 * Background sync, constrained to connectivity. The core's schedule
 * (`should_sync`) decides whether a run is due; a locked store has nothing
 * it may send, so the run ends and the next unlock syncs at app start.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val app = (applicationContext as FieldbookApplication).fieldbook
        if (!app.isUnlocked()) return Result.success()
        val trigger = if (tags.contains(NOW)) SyncTrigger.ON_DEMAND else SyncTrigger.TIMER
        if (!app.shouldSync(trigger)) return Result.success()
        return try {
            app.sync(null).awaitResult()
            Result.success()
        } catch (e: FieldbookException.Network) {
            Result.retry()
        } catch (e: FieldbookException) {
            Result.failure()
        }
    }

    companion object {
        private const val PERIODIC = "fieldbook-sync"
        private const val NOW = "fieldbook-sync-now"
        private val online = Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build()

        fun schedulePeriodic(context: Context) {
            val request = PeriodicWorkRequest.Builder(SyncWorker::class.java, 15, TimeUnit.MINUTES).setConstraints(online).build()
            WorkManager.getInstance(context).enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        fun runNow(context: Context) {
            val request = OneTimeWorkRequest.Builder(SyncWorker::class.java).setConstraints(online).addTag(NOW).build()
            WorkManager.getInstance(context).enqueueUniqueWork(NOW, ExistingWorkPolicy.REPLACE, request)
        }
    }
}
