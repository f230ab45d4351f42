package app.fieldbook.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.State
import androidx.compose.runtime.collectAsState
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.fieldbook.core.FieldbookApp
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlin.reflect.KClass

/**
 * What every screen's presenter shares: one immutable state published as a
 * StateFlow, core calls on a background dispatcher, and errors turned into
 * words. A presenter forwards intents to the core and publishes the core's
 * answer; it decides no rule.
 */
abstract class Presenter<St>(
    initial: St,
    protected val core: Core,
) : ViewModel() {
    private val mutable = MutableStateFlow(initial)
    val state: StateFlow<St> = mutable.asStateFlow()

    /** Called each time the screen comes (back) into view: reload from the core. */
    open fun onShown() {}

    protected fun update(f: (St) -> St) = mutable.update(f)

    /** Runs `block` off the main thread; failures go to `onError` as words. */
    protected fun work(onError: (St, String) -> St, block: suspend () -> Unit): Job =
        viewModelScope.launch(core.io) {
            try {
                block()
            } catch (e: Exception) {
                if (e is kotlinx.coroutines.CancellationException) throw e
                val words = describe(e, core.language.value)
                update { onError(it, words) }
            }
        }
}

/** The core and what presenters need beside it. */
class Core(
    val app: FieldbookApp,
    /** Where core calls run: Dispatchers.IO in the app. */
    val io: CoroutineDispatcher = Dispatchers.IO,
    /** The current language (Settings switches it). */
    val language: MutableStateFlow<Strings> = MutableStateFlow(English.strings),
    /** A label for this device (shown to the office). */
    val deviceLabel: String = "phone",
) {
    /**
     * Asks the phone's owner for the device credential (PIN, pattern,
     * strong biometric) when the core answers UserAuthenticationRequired.
     * The Android activity sets one (BiometricPrompt) while it is shown;
     * with none (the desktop render), the screen shows the core's answer
     * in words and the person tries again.
     */
    @Volatile
    var userAuthenticator: UserAuthenticator? = null
}

/** Prompts for the device credential; true when the owner authenticated. */
fun interface UserAuthenticator {
    suspend fun authenticate(): Boolean
}

/**
 * Runs `block`; when the platform key needs the device's user, prompts for
 * the device credential once and runs it again. Without a prompt, or when
 * the owner cancels, the core's UserAuthenticationRequired goes to the
 * caller (and so to the screen, in words).
 */
suspend fun <T> Core.withUserAuthentication(block: suspend () -> T): T = try {
    block()
} catch (e: app.fieldbook.core.FieldbookException.UserAuthenticationRequired) {
    val prompt = userAuthenticator ?: throw e
    if (!prompt.authenticate()) throw e
    block()
}

/**
 * How the platform keeps presenters and collects their state: the Android
 * app uses `viewModel()` (presenters survive rotation) and lifecycle-aware
 * collection; the desktop render keeps them in a map.
 */
interface PresenterHost {
    @Composable
    fun <P : ViewModel> presenterOf(key: String, type: KClass<P>, create: () -> P): P

    @Composable
    fun <T> collect(flow: StateFlow<T>): State<T> = flow.collectAsState()
}

/** The presenter for `key`, made by `create` the first time. */
@Composable
inline fun <reified P : ViewModel> PresenterHost.presenter(key: String, noinline create: () -> P): P = presenterOf(key, P::class, create)
