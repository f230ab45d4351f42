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
import app.fieldbook.core.PersonVisits
import app.fieldbook.core.Stamp
import app.fieldbook.ui.*
import java.time.Instant
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter

/** The local date of a stamp, as YYYY-MM-DD. */
fun localDate(s: Stamp): String =
    Instant.ofEpochMilli(s.utcMs).atOffset(ZoneOffset.ofTotalSeconds(s.offsetMin * 60)).format(DateTimeFormatter.ISO_LOCAL_DATE)

data class PersonState(val person: PersonVisits? = null, val notice: String? = null, val message: String? = null)

sealed interface PersonIntent {
    data class Amend(val visitId: String) : PersonIntent
    data class FollowUpDone(val visitId: String, val index: UInt) : PersonIntent
    data object Back : PersonIntent
}

/** A person's visit history, open follow-ups and next visit due, as the core computes them. */
class PersonPresenter(core: Core, private val nav: Navigator, private val caseId: String) : Presenter<PersonState>(PersonState(), core) {
    private val err = { s: PersonState, m: String -> s.copy(message = m, notice = null) }

    override fun onShown() = reload(null)

    private fun reload(notice: String?) {
        work(err) {
            val p = core.app.hvPerson(caseId)
            update { it.copy(person = p, notice = notice, message = null) }
        }
    }

    fun onIntent(i: PersonIntent) {
        when (i) {
            is PersonIntent.Amend -> nav.push(Route.VisitRecord(i.visitId))
            is PersonIntent.FollowUpDone -> work(err) {
                core.app.hvCompleteFollowUp(i.visitId, i.index)
                reload(core.language.value[S.FollowUpDoneNotice])
            }
            PersonIntent.Back -> nav.pop()
        }
    }
}

@Composable
fun PersonView(state: PersonState, onIntent: (PersonIntent) -> Unit) {
    val p = state.person
    ScreenFrame(t(S.PersonTitle, p?.label ?: ""), "person", onBack = { onIntent(PersonIntent.Back) }) {
        state.message?.let { Banner(it, Tone.Error) }
        state.notice?.let { Banner(it, Tone.Notice) }
        if (p == null) {
            Text(t(S.Loading))
            return@ScreenFrame
        }
        Text(p.crn)
        Text(t(S.NextVisitDue, p.nextDue), Modifier.testTag("next-due"))
        if (p.overdueByPolicy) Banner(t(S.OverdueByPolicy), Tone.Error, "overdue-by-policy")
        Heading(t(S.VisitHistory))
        if (p.history.isEmpty()) Text(t(S.NoHistory), Modifier.testTag("no-history"))
        p.history.forEachIndexed { index, line ->
            Card(Modifier.fillMaxWidth().testTag("history-$index")) {
                Column(Modifier.padding(12.dp)) {
                    Text(
                        t(S.HistoryLine, localDate(line.start), t(if (line.planned) S.Planned else S.Unplanned), line.outcome ?: t(S.NoOutcome)) +
                            (if (line.amendments > 0u) " · " + t(S.AmendmentsCount, line.amendments.toInt()) else ""),
                        Modifier.testTag("history-$index-text"),
                    )
                    // Offered where the core says the record can be amended (a finalised one).
                    if (line.amendable) SecondaryButton(t(S.AmendButton), "history-$index-amend") { onIntent(PersonIntent.Amend(line.visitId)) }
                }
            }
        }
        Heading(t(S.OpenFollowUps))
        if (p.openFollowUps.isEmpty()) Text(t(S.NoOpenFollowUps), Modifier.testTag("no-follow-ups"))
        p.openFollowUps.forEachIndexed { index, f ->
            Card(Modifier.fillMaxWidth().testTag("follow-up-$index")) {
                Column(Modifier.padding(12.dp)) {
                    Text(t(S.FollowUpLine, f.followUp.action, f.followUp.due), Modifier.testTag("follow-up-$index-text"))
                    SecondaryButton(t(S.FollowUpDoneButton), "follow-up-$index-done") { onIntent(PersonIntent.FollowUpDone(f.visitId, f.index)) }
                }
            }
        }
    }
}
