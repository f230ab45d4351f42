package app.fieldbook.ui.screens

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Card
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.fieldbook.core.FieldbookException
import app.fieldbook.core.OutboxSummary
import app.fieldbook.core.QuarantinedEvent
import app.fieldbook.core.SyncHandle
import app.fieldbook.core.SyncListener
import app.fieldbook.core.SyncProgress
import app.fieldbook.core.SyncTrigger
import app.fieldbook.ui.*
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter

data class SyncScreenState(
    val outbox: OutboxSummary? = null,
    val quarantine: List<QuarantinedEvent> = emptyList(),
    val running: Boolean = false,
    val progress: SyncProgress? = null,
    val result: String? = null,
    val resubmitReasons: Map<String, String> = emptyMap(),
    val message: String? = null,
)

sealed interface SyncIntent {
    data object SyncNow : SyncIntent
    data object Cancel : SyncIntent
    data class Reason(val eventId: String, val v: String) : SyncIntent
    data class Resubmit(val eventId: String) : SyncIntent
    data object Back : SyncIntent
}

/** Sync status, progress, "sync now", and the review of what the office refused. */
class SyncPresenter(core: Core, private val nav: Navigator) : Presenter<SyncScreenState>(SyncScreenState(), core) {
    @Volatile private var handle: SyncHandle? = null
    private val err = { s: SyncScreenState, m: String -> s.copy(message = m, running = false) }

    override fun onShown() { refresh() }

    private fun refresh() = work(err) {
        val o = core.app.outboxSummary()
        val q = core.app.quarantine()
        update { it.copy(outbox = o, quarantine = q) }
    }

    fun onIntent(i: SyncIntent) {
        when (i) {
            SyncIntent.Back -> nav.pop()
            SyncIntent.Cancel -> handle?.cancel()
            is SyncIntent.Reason -> update { it.copy(resubmitReasons = it.resubmitReasons + (i.eventId to i.v)) }
            is SyncIntent.Resubmit -> work(err) {
                val reason = state.value.resubmitReasons[i.eventId] ?: ""
                core.app.resubmitQuarantined(i.eventId, reason)
                update { it.copy(result = core.language.value[S.Resubmitted], message = null) }
                refresh()
            }
            SyncIntent.SyncNow -> {
                if (state.value.running || !core.app.shouldSync(SyncTrigger.ON_DEMAND)) return
                update { it.copy(running = true, result = null, message = null, progress = null) }
                work(err) {
                    val h = core.app.sync(object : SyncListener {
                        override fun onProgress(progress: SyncProgress) = update { it.copy(progress = progress) }
                    })
                    handle = h
                    try {
                        val r = h.awaitResult()
                        val w = core.language.value
                        update { it.copy(running = false, result = w.f(S.SyncResult, r.accepted.toLong(), r.quarantined.toLong(), r.pulled.toLong())) }
                    } catch (e: FieldbookException.Cancelled) {
                        update { it.copy(running = false, result = core.language.value[S.SyncCancelled]) }
                    } finally {
                        handle = null
                    }
                    refresh()
                }
            }
        }
    }
}

fun localTime(ms: Long): String = DateTimeFormatter.ofPattern("d MMM HH:mm").withZone(ZoneId.systemDefault()).format(Instant.ofEpochMilli(ms))

@Composable
fun refusalReason(reason: String) = if (reason == "out_of_scope") t(S.ReasonOutOfScope) else t(S.ReasonOther, reason.replace('_', ' '))

@Composable
fun SyncView(state: SyncScreenState, onIntent: (SyncIntent) -> Unit) {
    ScreenFrame(t(S.SyncTitle), "sync", onBack = { onIntent(SyncIntent.Back) }) {
        state.message?.let { Banner(it, Tone.Error) }
        state.result?.let { Banner(it, Tone.Notice, "sync-result") }
        state.outbox?.let { o ->
            Figure(t(S.Pending, o.pending.toLong()).substringBefore(':'), o.pending.toString(), "pending")
            Figure(t(S.Unsent, o.unsent.toLong()).substringBefore(':'), o.unsent.toString(), "unsent")
            Text(t(S.LastSync, o.lastSyncMs?.let { localTime(it) } ?: t(S.Never)), Modifier.testTag("last-sync"))
        }
        if (state.running) {
            val p = state.progress
            Banner(t(S.Syncing, p?.let { "${it.phase.name.lowercase()} ${it.sent}/${it.total}" } ?: ""), Tone.Notice, "syncing")
            SecondaryButton(t(S.Cancel), "cancel-sync") { onIntent(SyncIntent.Cancel) }
        } else {
            PrimaryButton(t(S.SyncNow), "sync-now") { onIntent(SyncIntent.SyncNow) }
        }
        Heading(t(S.Quarantine, state.quarantine.size))
        if (state.quarantine.isEmpty()) Text(t(S.QuarantineEmpty), Modifier.testTag("quarantine-empty"))
        state.quarantine.forEachIndexed { index, q ->
            Card(Modifier.fillMaxWidth().testTag("quarantined-$index")) {
                Column(Modifier.padding(12.dp)) {
                    Text(t(S.QuarantineReason, q.kind, refusalReason(q.reason)))
                    Text("#${q.seq}")
                    Field(t(S.ResubmitReason), state.resubmitReasons[q.eventId] ?: "", "resubmit-reason-$index", { onIntent(SyncIntent.Reason(q.eventId, it)) })
                    SecondaryButton(t(S.Resubmit), "resubmit-$index") { onIntent(SyncIntent.Resubmit(q.eventId)) }
                }
            }
        }
    }
}
