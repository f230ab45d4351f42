package app.fieldbook.android

import android.Manifest
import android.app.AlarmManager
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import android.os.Bundle
import android.provider.Settings
import android.view.WindowManager
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.State
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.lifecycle.ViewModel
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.lifecycle.viewmodel.viewModelFactory
import app.fieldbook.core.SyncTrigger
import kotlin.reflect.KClass
import app.fieldbook.ui.FieldbookRoot
import app.fieldbook.ui.PresenterHost
import app.fieldbook.ui.Route
import kotlinx.coroutines.flow.StateFlow

/** Presenters in the activity's ViewModelStore (they survive rotation); state collected only while started. */
object AndroidPresenterHost : PresenterHost {
    @Composable
    override fun <P : ViewModel> presenterOf(key: String, type: KClass<P>, create: () -> P): P =
        viewModel(modelClass = type, key = key, factory = viewModelFactory { addInitializer(type) { create() } })

    @Composable
    override fun <T> collect(flow: StateFlow<T>): State<T> = flow.collectAsStateWithLifecycle()
}

/** The one activity. Every screen is secure: no screenshots, nothing in the recents thumbnail. */
class MainActivity : ComponentActivity() {
    private var prompt: DeviceCredentialPrompt? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
        super.onCreate(savedInstanceState)
        if (Build.VERSION.SDK_INT >= 33) setRecentsScreenshotEnabled(false)
        val application = application as FieldbookApplication
        // The Keystore key needs the owner within 300 s: the unlock screen prompts through this and retries.
        prompt = DeviceCredentialPrompt(this) { application.core.language.value }.also { application.core.userAuthenticator = it }
        setContent {
            val routes by application.navigator.routes.collectAsState()
            // Ask for what the lone-worker alarms need when a visit is about to start, not at launch.
            LaunchedEffect(routes.last()) {
                if (routes.last().route is Route.StartVisit) askForAlarmPermissions()
            }
            FieldbookRoot(application.core, application.navigator, AndroidPresenterHost)
        }
    }

    override fun onDestroy() {
        val core = (application as FieldbookApplication).core
        if (core.userAuthenticator === prompt) core.userAuthenticator = null
        super.onDestroy()
    }

    override fun onStart() {
        super.onStart()
        val app = (application as FieldbookApplication).fieldbook
        if (app.isUnlocked() && app.shouldSync(SyncTrigger.APP_START)) SyncWorker.runNow(this)
    }

    private fun askForAlarmPermissions() {
        if (Build.VERSION.SDK_INT >= 33 && checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED) {
            requestPermissions(arrayOf(Manifest.permission.POST_NOTIFICATIONS), 1)
        }
        val alarms = getSystemService(AlarmManager::class.java) ?: return
        if (Build.VERSION.SDK_INT >= 31 && !alarms.canScheduleExactAlarms()) {
            startActivity(Intent(Settings.ACTION_REQUEST_SCHEDULE_EXACT_ALARM, android.net.Uri.parse("package:$packageName")))
        }
    }
}
