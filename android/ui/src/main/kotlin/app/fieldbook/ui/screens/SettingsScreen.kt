package app.fieldbook.ui.screens

import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import app.fieldbook.core.ChainCheck
import app.fieldbook.ui.*

data class SettingsState(
    val version: String = "",
    val chain: ChainCheck? = null,
    val oldPin: String = "",
    val newPin: String = "",
    val notice: String? = null,
    val message: String? = null,
)

sealed interface SettingsIntent {
    data class OldPin(val v: String) : SettingsIntent
    data class NewPin(val v: String) : SettingsIntent
    data object ChangePin : SettingsIntent
    data object LockNow : SettingsIntent
    data object ToggleLanguage : SettingsIntent
    data object Back : SettingsIntent
}

/** Change PIN, lock now, language, about (versions and the chain check). */
class SettingsPresenter(core: Core, private val nav: Navigator) : Presenter<SettingsState>(SettingsState(), core) {
    private val err = { s: SettingsState, m: String -> s.copy(message = m, notice = null) }

    override fun onShown() {
        work(err) {
            val chain = core.app.verifyChain()
            update { it.copy(version = core.app.version(), chain = chain) }
        }
    }

    fun onIntent(i: SettingsIntent) {
        when (i) {
            is SettingsIntent.OldPin -> update { it.copy(oldPin = i.v) }
            is SettingsIntent.NewPin -> update { it.copy(newPin = i.v) }
            SettingsIntent.ChangePin -> work(err) {
                val s = state.value
                core.app.changePin(s.oldPin, s.newPin)
                update { it.copy(oldPin = "", newPin = "", notice = core.language.value[S.PinChanged], message = null) }
            }
            SettingsIntent.LockNow -> {
                core.app.lock()
                nav.reset(Route.Unlock)
            }
            SettingsIntent.ToggleLanguage -> core.language.value = if (core.language.value.tag == "cy") English.strings else Welsh.strings
            SettingsIntent.Back -> nav.pop()
        }
    }
}

@Composable
fun SettingsView(state: SettingsState, onIntent: (SettingsIntent) -> Unit) {
    ScreenFrame(t(S.SettingsTitle), "settings", onBack = { onIntent(SettingsIntent.Back) }) {
        state.message?.let { Banner(it, Tone.Error) }
        state.notice?.let { Banner(it, Tone.Notice) }
        PrimaryButton(t(S.LockNow), "lock-now") { onIntent(SettingsIntent.LockNow) }
        SecondaryButton(t(S.Language), "language") { onIntent(SettingsIntent.ToggleLanguage) }
        Heading(t(S.ChangePinTitle))
        Field(t(S.OldPinLabel), state.oldPin, "old-pin", { onIntent(SettingsIntent.OldPin(it)) }, secret = true)
        Field(t(S.NewPinLabel), state.newPin, "new-pin", { onIntent(SettingsIntent.NewPin(it)) }, secret = true)
        SecondaryButton(t(S.ChangePinTitle), "change-pin") { onIntent(SettingsIntent.ChangePin) }
        Heading(t(S.About))
        Text(t(S.CoreVersion, state.version), Modifier.testTag("version"))
        state.chain?.let { c ->
            Text(
                if (c.intact) t(S.ChainOk, c.verified.toLong()) else t(S.ChainBroken, (c.firstBrokenSeq ?: 0uL).toLong()),
                Modifier.testTag("chain"),
            )
        }
    }
}
