// UNVERIFIED SIGNATURE STUB (compile-only; never shipped). The real
// artifact, androidx.work:work-runtime(-ktx) 2.10.0, is published only in
// Google's Maven repository. Only the members the app calls are declared.
package androidx.work

import android.content.Context
import java.util.UUID
import java.util.concurrent.TimeUnit

class WorkerParameters private constructor()

abstract class ListenableWorker(private val appContext: Context, private val params: WorkerParameters) {
    val applicationContext: Context get() = appContext
    val tags: Set<String> get() = emptySet()

    abstract class Result internal constructor() {
        companion object {
            @JvmStatic fun success(): Result = throw UnsupportedOperationException("stub")
            @JvmStatic fun retry(): Result = throw UnsupportedOperationException("stub")
            @JvmStatic fun failure(): Result = throw UnsupportedOperationException("stub")
        }
    }
}

abstract class CoroutineWorker(appContext: Context, params: WorkerParameters) : ListenableWorker(appContext, params) {
    abstract suspend fun doWork(): Result
}

enum class NetworkType { NOT_REQUIRED, CONNECTED, UNMETERED, NOT_ROAMING, METERED, TEMPORARILY_UNMETERED }

class Constraints private constructor() {
    class Builder {
        fun setRequiredNetworkType(networkType: NetworkType): Builder = this
        fun build(): Constraints = Constraints()
    }
}

abstract class WorkRequest internal constructor() {
    val id: UUID get() = UUID(0, 0)
}

class PeriodicWorkRequest private constructor() : WorkRequest() {
    class Builder(workerClass: Class<out ListenableWorker>, repeatInterval: Long, repeatIntervalTimeUnit: TimeUnit) {
        fun setConstraints(constraints: Constraints): Builder = this
        fun build(): PeriodicWorkRequest = PeriodicWorkRequest()
    }
}

class OneTimeWorkRequest private constructor() : WorkRequest() {
    class Builder(workerClass: Class<out ListenableWorker>) {
        fun setConstraints(constraints: Constraints): Builder = this
        fun addTag(tag: String): Builder = this
        fun build(): OneTimeWorkRequest = OneTimeWorkRequest()
    }
}

enum class ExistingPeriodicWorkPolicy { REPLACE, KEEP, UPDATE, CANCEL_AND_REENQUEUE }
enum class ExistingWorkPolicy { REPLACE, KEEP, APPEND, APPEND_OR_REPLACE }

interface Operation

abstract class WorkManager internal constructor() {
    abstract fun enqueueUniquePeriodicWork(uniqueWorkName: String, existingPeriodicWorkPolicy: ExistingPeriodicWorkPolicy, periodicWork: PeriodicWorkRequest): Operation
    abstract fun enqueueUniqueWork(uniqueWorkName: String, existingWorkPolicy: ExistingWorkPolicy, work: OneTimeWorkRequest): Operation

    companion object {
        @JvmStatic fun getInstance(context: Context): WorkManager = throw UnsupportedOperationException("stub")
    }
}
