package app.fieldbook.ui.screens

import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import app.fieldbook.core.FieldbookException
import app.fieldbook.ui.*

enum class UnlockMode { Opening, CreatePin, Unlock, LockedOutWait, LockedOutOffice, KeyLost }

data class UnlockState(
    val mode: UnlockMode = UnlockMode.Opening,
    val officerId: String = "",
    val pin: String = "",
    val pinAgain: String = "",
    val reenableCode: String = "",
    val retryAfterMs: Long = 0,
    val unsentEvents: Long = 0,
    val message: String? = null,
    val busy: Boolean = false,
    /** The core asked for the phone's own credential (and no prompt succeeded). */
    val deviceAuthNeeded: Boolean = false,
)

sealed interface UnlockIntent {
    data class OfficerId(val v: String) : UnlockIntent
    data class Pin(val v: String) : UnlockIntent
    data class PinAgain(val v: String) : UnlockIntent
    data class ReenableCode(val v: String) : UnlockIntent
    data object Create : UnlockIntent
    data object Unlock : UnlockIntent
    data object Reenable : UnlockIntent
}

/** First run (create the PIN), unlock, lock-out and a lost platform key. */
class UnlockPresenter(core: Core, private val nav: Navigator) : Presenter<UnlockState>(UnlockState(), core) {
    private val err = { s: UnlockState, m: String -> s.copy(message = m, busy = false) }

    override fun onShown() {
        work(err) {
            if (!core.app.storeExists()) {
                update { it.copy(mode = UnlockMode.CreatePin) }
            } else {
                showStatus(null)
            }
        }
    }

    private fun showStatus(message: String?) {
        val st = core.app.lockoutStatus()
        update {
            it.copy(
                mode = when {
                    st.lockedOut -> UnlockMode.LockedOutOffice
                    st.retryAfterMs > 0 -> UnlockMode.LockedOutWait
                    else -> UnlockMode.Unlock
                },
                retryAfterMs = st.retryAfterMs, pin = "", message = message, busy = false,
            )
        }
    }

    fun onIntent(i: UnlockIntent) {
        when (i) {
            is UnlockIntent.OfficerId -> update { it.copy(officerId = i.v) }
            is UnlockIntent.Pin -> update { it.copy(pin = i.v) }
            is UnlockIntent.PinAgain -> update { it.copy(pinAgain = i.v) }
            is UnlockIntent.ReenableCode -> update { it.copy(reenableCode = i.v) }
            UnlockIntent.Create -> {
                val s = state.value
                if (s.pin != s.pinAgain) {
                    update { it.copy(message = core.language.value[S.PinsDiffer]) }
                    return
                }
                update { it.copy(busy = true, message = null) }
                work(err) {
                    core.withUserAuthentication { core.app.createStore(s.officerId.trim(), s.pin) }
                    nav.reset(Route.Enrol)
                }
            }
            UnlockIntent.Unlock -> {
                val pin = state.value.pin
                update { it.copy(busy = true, message = null, deviceAuthNeeded = false) }
                work(err) {
                    try {
                        // The platform key may need the phone's own credential first: prompt, then retry.
                        // Unlock restores the sync address, certificate pins and options kept in the store.
                        core.withUserAuthentication { core.app.unlock(pin) }
                        nav.home(core.app)
                    } catch (e: FieldbookException.WrongPin) {
                        showStatus(core.language.value.f(S.WrongPin, e.remainingAttempts.toInt()))
                    } catch (e: FieldbookException.LockedOut) {
                        showStatus(null)
                    } catch (e: FieldbookException.UserAuthenticationRequired) {
                        update { it.copy(message = core.language.value[S.ErrUserAuth], deviceAuthNeeded = true, busy = false) }
                    } catch (e: FieldbookException.KeyUnavailable) {
                        update { it.copy(mode = UnlockMode.KeyLost, unsentEvents = e.unsentEvents.toLong(), busy = false) }
                    }
                }
            }
            UnlockIntent.Reenable -> {
                val code = state.value.reenableCode
                work(err) {
                    core.app.officeReenable(code.trim())
                    showStatus(null)
                }
            }
        }
    }
}

@Composable
fun UnlockView(state: UnlockState, onIntent: (UnlockIntent) -> Unit) {
    val create = state.mode == UnlockMode.CreatePin
    ScreenFrame(t(if (create) S.CreatePinTitle else S.UnlockTitle), "unlock") {
        state.message?.let { Banner(it, Tone.Error) }
        when (state.mode) {
            UnlockMode.Opening -> Text(t(S.Loading))
            UnlockMode.CreatePin -> {
                Text(t(S.CreatePinIntro))
                Field(t(S.OfficerIdLabel), state.officerId, "officer-id", { onIntent(UnlockIntent.OfficerId(it)) })
                Field(t(S.PinLabel), state.pin, "pin", { onIntent(UnlockIntent.Pin(it)) }, secret = true)
                Field(t(S.PinAgainLabel), state.pinAgain, "pin-again", { onIntent(UnlockIntent.PinAgain(it)) }, secret = true)
                PrimaryButton(t(S.CreatePin), "create-pin", enabled = !state.busy) { onIntent(UnlockIntent.Create) }
            }
            UnlockMode.Unlock -> {
                Text(t(S.UnlockIntro))
                Field(t(S.PinLabel), state.pin, "pin", { onIntent(UnlockIntent.Pin(it)) }, secret = true)
                if (state.deviceAuthNeeded) Banner(t(S.DeviceAuthTitle), Tone.Notice, "device-auth")
                PrimaryButton(t(if (state.deviceAuthNeeded) S.DeviceAuthButton else S.Unlock), "unlock", enabled = !state.busy) { onIntent(UnlockIntent.Unlock) }
            }
            UnlockMode.LockedOutWait -> {
                Banner(t(S.LockedOutWait, humanDuration(state.retryAfterMs)), Tone.Notice, "lockout")
                Field(t(S.PinLabel), state.pin, "pin", { onIntent(UnlockIntent.Pin(it)) }, secret = true)
                PrimaryButton(t(S.Unlock), "unlock", enabled = !state.busy) { onIntent(UnlockIntent.Unlock) }
            }
            UnlockMode.LockedOutOffice -> {
                Banner(t(S.LockedOutOffice), Tone.Notice, "lockout")
                Field(t(S.ReenableCodeLabel), state.reenableCode, "reenable-code", { onIntent(UnlockIntent.ReenableCode(it)) })
                PrimaryButton(t(S.Reenable), "reenable") { onIntent(UnlockIntent.Reenable) }
            }
            UnlockMode.KeyLost -> Banner(t(S.KeyLost, state.unsentEvents), Tone.Alarm, "key-lost")
        }
    }
}
