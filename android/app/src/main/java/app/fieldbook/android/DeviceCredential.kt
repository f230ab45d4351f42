package app.fieldbook.android

import android.app.Activity
import android.app.KeyguardManager
import android.hardware.biometrics.BiometricManager
import android.hardware.biometrics.BiometricPrompt
import android.os.Build
import android.os.CancellationSignal
import app.fieldbook.ui.Strings
import app.fieldbook.ui.S
import app.fieldbook.ui.UserAuthenticator
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withContext
import kotlin.coroutines.resume

/**
 * The system's device-credential prompt, for when the Keystore key needs
 * the owner (UserNotAuthenticatedException, mapped by the core to
 * UserAuthenticationRequired). A strong biometric or the phone's PIN,
 * pattern or password; a success opens the 300 s window the key was
 * generated with, and the unlock is retried.
 */
class DeviceCredentialPrompt(private val activity: Activity, private val strings: () -> Strings) : UserAuthenticator {
    override suspend fun authenticate(): Boolean {
        val keyguard = activity.getSystemService(KeyguardManager::class.java)
        // No screen lock set: nothing can authenticate the key (the screen says so).
        if (keyguard == null || !keyguard.isDeviceSecure) return false
        return withContext(Dispatchers.Main) {
            suspendCancellableCoroutine { cont ->
                val words = strings()
                val builder = BiometricPrompt.Builder(activity).setTitle(words[S.DeviceAuthTitle])
                if (Build.VERSION.SDK_INT >= 30) {
                    builder.setAllowedAuthenticators(
                        BiometricManager.Authenticators.BIOMETRIC_STRONG or BiometricManager.Authenticators.DEVICE_CREDENTIAL,
                    )
                } else {
                    @Suppress("DEPRECATION")
                    builder.setDeviceCredentialAllowed(true)
                }
                val cancel = CancellationSignal()
                cont.invokeOnCancellation { cancel.cancel() }
                builder.build().authenticate(
                    cancel, activity.mainExecutor,
                    object : BiometricPrompt.AuthenticationCallback() {
                        override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                            if (cont.isActive) cont.resume(true)
                        }

                        override fun onAuthenticationError(errorCode: Int, errString: CharSequence) {
                            if (cont.isActive) cont.resume(false)
                        }
                        // onAuthenticationFailed: one rejected attempt; the prompt stays up.
                    },
                )
            }
        }
    }
}
