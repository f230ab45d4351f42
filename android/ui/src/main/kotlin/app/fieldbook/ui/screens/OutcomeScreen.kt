package app.fieldbook.ui.screens

import androidx.compose.foundation.layout.Column
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.semantics.semantics
import app.fieldbook.core.AppointmentForm
import app.fieldbook.core.Compliance
import app.fieldbook.core.FieldMessage
import app.fieldbook.core.OutcomeCheck
import app.fieldbook.core.OutcomeInput
import app.fieldbook.core.Rating
import app.fieldbook.core.Stamp
import app.fieldbook.ui.*
import java.time.Instant
import java.time.LocalTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter

/** Local clock time of a stamp, as HH:MM. */
fun clockTime(s: Stamp): String =
    Instant.ofEpochMilli(s.utcMs).atOffset(ZoneOffset.ofTotalSeconds(s.offsetMin * 60)).format(DateTimeFormatter.ofPattern("HH:mm"))

/** The phone's current offset from UTC at `utcMs`, in minutes (for showing an office time locally). */
fun offsetNow(utcMs: Long): Int = java.util.TimeZone.getDefault().getOffset(utcMs) / 60_000

/** A typed HH:MM on the same local day as `day` (input conversion only). */
fun stampAt(day: Stamp, text: String): Stamp? {
    val time = runCatching { LocalTime.parse(text.trim(), DateTimeFormatter.ofPattern("H:mm")) }.getOrNull() ?: return null
    val offset = ZoneOffset.ofTotalSeconds(day.offsetMin * 60)
    val date = Instant.ofEpochMilli(day.utcMs).atOffset(offset).toLocalDate()
    return Stamp(date.atTime(time).toInstant(offset).toEpochMilli(), day.offsetMin)
}

data class OutcomeState(
    val form: AppointmentForm? = null,
    val code: String? = null,
    val arrival: String = "",
    val departure: String = "",
    /** Untouched times are sent as "not given": the core then uses the check-in time and now, to the second. */
    val arrivalEdited: Boolean = false,
    val departureEdited: Boolean = false,
    val penalty: String = "0",
    val travel: String = "",
    val workQuality: Rating? = null,
    val behaviour: Rating? = null,
    val notes: String = "",
    val sensitive: Boolean = false,
    val raiseAlert: Boolean = false,
    /** Compliance on the day, in the national service's steps; null: not answered (nothing sent). */
    val canWork: Boolean? = null,
    val unableToWorkReason: String = "",
    val hiVisWorn: Boolean? = null,
    val workedIntensively: Boolean? = null,
    val leftEarly: Boolean? = null,
    val leftEarlyReason: String = "",
    val correctionReason: String = "",
    /** The core's verdict on the last review. */
    val check: OutcomeCheck? = null,
    /** Fields the person typed in a form the app cannot read (e.g. "25:99"). */
    val formatErrors: List<FieldMessage> = emptyList(),
    val recordedMinutes: Long? = null,
    val message: String? = null,
) {
    val errors: List<FieldMessage> get() = formatErrors + (check?.errors ?: emptyList())
    /** Whether the core asks the compliance questions for the chosen code. */
    val asksCompliance: Boolean get() = form?.outcomes?.firstOrNull { it.code == code }?.asksCompliance == true
    fun errorFor(field: String) = errors.firstOrNull { it.field == field }?.message
    val reviewed get() = check != null && errors.isEmpty()
}

sealed interface OutcomeIntent {
    data class Edit(val f: (OutcomeState) -> OutcomeState) : OutcomeIntent
    data object Review : OutcomeIntent
    data object Record : OutcomeIntent
    data object Done : OutcomeIntent
}

/**
 * The appointment outcome in the national service's steps: what happened
 * (the codes the core offers, with their hints), times, compliance, then a
 * review by the core and confirmation.
 */
class OutcomePresenter(core: Core, private val nav: Navigator, private val appointmentId: String) :
    Presenter<OutcomeState>(OutcomeState(), core) {
    private val err = { s: OutcomeState, m: String -> s.copy(message = m) }

    override fun onShown() {
        if (state.value.form != null) return
        work(err) {
            val f = core.app.upwAppointmentForm(appointmentId)
            val c = f.current
            val answers = c?.compliance
            update {
                it.copy(
                    form = f, code = c?.code, notes = c?.notes ?: "", sensitive = c?.sensitive ?: false,
                    // A correction starts from what was recorded and restates the times as given.
                    arrival = clockTime(c?.arrival ?: f.defaultArrival), departure = clockTime(c?.departure ?: f.defaultDeparture),
                    arrivalEdited = c != null, departureEdited = c != null,
                    penalty = (c?.penaltyMinutes ?: 0L).toString(), travel = c?.travelMinutes?.toString() ?: "",
                    workQuality = c?.workQuality, behaviour = c?.behaviour, raiseAlert = c?.raiseAlert ?: false,
                    hiVisWorn = answers?.hiVisWorn, workedIntensively = answers?.workedIntensively,
                    canWork = if (answers?.unableToWorkReason != null) false else null,
                    unableToWorkReason = answers?.unableToWorkReason ?: "",
                    leftEarly = if (answers?.leftEarlyReason != null) true else null,
                    leftEarlyReason = answers?.leftEarlyReason ?: "",
                )
            }
        }
    }

    private fun input(s: OutcomeState): Pair<OutcomeInput?, List<FieldMessage>> {
        val f = s.form ?: return null to emptyList()
        val w = core.language.value
        val problems = mutableListOf<FieldMessage>()
        val arrival = if (s.arrival.isBlank() || !s.arrivalEdited) null else stampAt(f.defaultArrival, s.arrival) ?: null.also { problems += FieldMessage("arrival", w[S.ArrivalLabel], w[S.TimeFormat]) }
        val departure = if (s.departure.isBlank() || !s.departureEdited) null else stampAt(f.defaultDeparture, s.departure) ?: null.also { problems += FieldMessage("departure", w[S.DepartureLabel], w[S.TimeFormat]) }
        val penalty = s.penalty.trim().ifEmpty { "0" }.toLongOrNull() ?: 0L.also { problems += FieldMessage("penalty_minutes", w[S.PenaltyLabel], "0–999") }
        val travel = if (s.travel.isBlank()) null else s.travel.trim().toUIntOrNull() ?: null.also { problems += FieldMessage("travel_minutes", w[S.TravelLabel], "0–999") }
        // The questions are asked only where the core says they apply to the chosen code; what was
        // answered there is sent as answered, and the core judges it.
        val compliance = if (!s.asksCompliance) null else Compliance(
            hiVisWorn = s.hiVisWorn,
            workedIntensively = s.workedIntensively,
            unableToWorkReason = if (s.canWork == false) s.unableToWorkReason else null,
            leftEarlyReason = if (s.leftEarly == true) s.leftEarlyReason else null,
        ).takeIf { s.canWork != null || s.hiVisWorn != null || s.workedIntensively != null || s.leftEarly != null }
        return OutcomeInput(
            s.code ?: "", arrival, departure, penalty, s.workQuality ?: Rating.NOT_APPLICABLE, s.behaviour ?: Rating.NOT_APPLICABLE,
            s.notes, s.sensitive, s.raiseAlert, travel, compliance,
        ) to problems
    }

    fun onIntent(i: OutcomeIntent) {
        when (i) {
            is OutcomeIntent.Edit -> update { i.f(it).copy(check = null) }
            OutcomeIntent.Review -> work(err) {
                val (inp, problems) = input(state.value)
                val check = core.app.upwCheckOutcome(appointmentId, inp ?: return@work)
                update { it.copy(check = check, formatErrors = problems, message = null) }
            }
            OutcomeIntent.Record -> work(err) {
                val s = state.value
                val (inp, problems) = input(s)
                if (inp == null || problems.isNotEmpty() || !s.reviewed) return@work
                val result = if (s.form?.current != null) {
                    core.app.upwCorrectOutcome(appointmentId, inp, s.correctionReason)
                } else {
                    core.app.upwRecordOutcome(appointmentId, inp)
                }
                update { it.copy(recordedMinutes = result.minutesCredited, message = null) }
            }
            OutcomeIntent.Done -> nav.pop()
        }
    }
}

@Composable
fun ratingName(r: Rating) = t(
    when (r) {
        Rating.EXCELLENT -> S.RatingExcellent
        Rating.GOOD -> S.RatingGood
        Rating.SATISFACTORY -> S.RatingSatisfactory
        Rating.UNSATISFACTORY -> S.RatingUnsatisfactory
        Rating.POOR -> S.RatingPoor
        Rating.NOT_APPLICABLE -> S.RatingNotApplicable
    },
)

@Composable
fun OutcomeView(state: OutcomeState, onIntent: (OutcomeIntent) -> Unit) {
    val f = state.form
    val edit = { g: (OutcomeState) -> OutcomeState -> onIntent(OutcomeIntent.Edit(g)) }
    ScreenFrame(t(S.OutcomeTitle, f?.row?.label ?: ""), "outcome", onBack = { onIntent(OutcomeIntent.Done) }) {
        state.message?.let { Banner(it, Tone.Error) }
        if (f == null) {
            Text(t(S.Loading))
            return@ScreenFrame
        }
        state.recordedMinutes?.let {
            Banner(t(S.OutcomeRecorded, it), Tone.Notice, "recorded")
            PrimaryButton(t(S.Continue), "done") { onIntent(OutcomeIntent.Done) }
            return@ScreenFrame
        }
        f.current?.let { Text(t(S.Current, it.code, it.minutesCredited)) }
        Heading(t(S.StepOutcome))
        f.outcomes.forEach { o ->
            Column {
                Choice("${o.code} – ${o.description}", state.code == o.code, "code-${o.code}") { edit { it.copy(code = o.code) } }
                Text(o.hint, style = MaterialTheme.typography.bodySmall)
            }
        }
        state.errorFor("code")?.let { Banner(it, Tone.Error, "code-message") }
        Heading(t(S.StepTimes))
        Field(t(S.ArrivalLabel), state.arrival, "arrival", { v -> edit { it.copy(arrival = v, arrivalEdited = true) } }, supporting = t(S.TimeFormat), error = state.errorFor("arrival"))
        Field(t(S.DepartureLabel), state.departure, "departure", { v -> edit { it.copy(departure = v, departureEdited = true) } }, supporting = t(S.TimeFormat), error = state.errorFor("departure"))
        Field(t(S.PenaltyLabel), state.penalty, "penalty", { v -> edit { it.copy(penalty = v) } }, number = true, error = state.errorFor("penalty_minutes"))
        if (f.travelTimeEligible) {
            Field(t(S.TravelLabel), state.travel, "travel", { v -> edit { it.copy(travel = v) } }, number = true, error = state.errorFor("travel_minutes"))
        }
        if (state.asksCompliance) {
            Column(Modifier.testTag("compliance-step")) {
                Heading(t(S.StepCompliance))
                YesNo(t(S.QCanWork), state.canWork, "q-can-work") { v -> edit { it.copy(canWork = v) } }
                if (state.canWork == false) {
                    Field(t(S.UnableToWorkReason), state.unableToWorkReason, "unable-to-work-reason", { v -> edit { it.copy(unableToWorkReason = v) } }, error = state.errorFor("compliance.unable_to_work_reason"))
                }
                YesNo(t(S.QComplianceHiVis), state.hiVisWorn, "q-compliance-hivis") { v -> edit { it.copy(hiVisWorn = v) } }
                YesNo(t(S.QWorkedIntensively), state.workedIntensively, "q-intensive") { v -> edit { it.copy(workedIntensively = v) } }
                YesNo(t(S.QLeftEarly), state.leftEarly, "q-left-early") { v -> edit { it.copy(leftEarly = v) } }
                if (state.leftEarly == true) {
                    Field(t(S.LeftEarlyReason), state.leftEarlyReason, "left-early-reason", { v -> edit { it.copy(leftEarlyReason = v) } }, error = state.errorFor("compliance.left_early_reason"))
                }
            }
        }
        state.errorFor("compliance")?.let { Banner(it, Tone.Error, "compliance-message") }
        Text(t(S.WorkQuality))
        ButtonRow { Rating.entries.forEach { r -> Choice(ratingName(r), state.workQuality == r, "quality-${r.name.lowercase()}") { edit { it.copy(workQuality = r) } } } }
        Text(t(S.Behaviour))
        ButtonRow { Rating.entries.forEach { r -> Choice(ratingName(r), state.behaviour == r, "behaviour-${r.name.lowercase()}") { edit { it.copy(behaviour = r) } } } }
        Field(
            t(S.NotesLabel), state.notes, "notes", { v -> edit { it.copy(notes = v) } }, singleLine = false,
            supporting = t(S.NotesCount, state.notes.length, f.notesMaxChars.toInt()), error = state.errorFor("notes"),
        )
        Toggle(t(S.Sensitive), state.sensitive, "sensitive") { v -> edit { it.copy(sensitive = v) } }
        state.errorFor("sensitive")?.let { Banner(it, Tone.Error, "sensitive-message") }
        if (f.outcomes.any { it.code == state.code && it.enforceable }) {
            Toggle(t(S.RaiseAlert), state.raiseAlert, "raise-alert") { v -> edit { it.copy(raiseAlert = v) } }
        }
        if (f.current != null) Field(t(S.CorrectionReason), state.correctionReason, "correction-reason", { v -> edit { it.copy(correctionReason = v) } })
        Heading(t(S.StepReview))
        val check = state.check
        if (check != null) {
            if (state.errors.isNotEmpty()) {
                Banner(t(S.FixBelow) + ": " + state.errors.joinToString("; ") { "${it.label}: ${it.message}" }, Tone.Error, "review-errors")
            } else {
                Column(Modifier.semantics(mergeDescendants = true) {}.testTag("review")) {
                    check.minutesCredited?.let { Text(t(S.ReviewMinutes, it)) }
                    check.lateByMinutes?.takeIf { it > 0 }?.let { Text(t(S.ReviewLate, it)) }
                    check.enforcement?.let { Text(t(S.ReviewEnforcement, it.replace('_', ' '))) }
                    if (check.afterExpectedEnd) Text(t(S.ReviewAfterExpectedEnd))
                }
            }
        }
        PrimaryButton(t(S.Review), "review-button") { onIntent(OutcomeIntent.Review) }
        PrimaryButton(t(S.RecordOutcome), "record", enabled = state.reviewed) { onIntent(OutcomeIntent.Record) }
    }
}
