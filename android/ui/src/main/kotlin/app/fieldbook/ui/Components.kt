package app.fieldbook.ui

import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ColumnScope
import androidx.compose.foundation.layout.ExperimentalLayoutApi
import androidx.compose.foundation.layout.FlowRow
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.RowScope
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.selectable
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.ButtonDefaults
import androidx.compose.material3.Card
import androidx.compose.material3.Checkbox
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.text.input.VisualTransformation
import androidx.compose.ui.unit.dp

private val Scheme = lightColorScheme(
    primary = Color(0xFF1D70B8), onPrimary = Color.White,
    error = Color(0xFFD4351C), secondary = Color(0xFF00703C),
)

@Composable
fun FieldbookTheme(strings: Strings, content: @Composable () -> Unit) {
    androidx.compose.runtime.CompositionLocalProvider(LocalStrings provides strings) {
        MaterialTheme(colorScheme = Scheme) { Surface(Modifier.fillMaxSize()) { content() } }
    }
}

/** A screen: a title bar (with Back when there is somewhere to go) over a scrolling column. */
@Composable
fun ScreenFrame(
    title: String,
    tag: String,
    onBack: (() -> Unit)? = null,
    actions: @Composable RowScope.() -> Unit = {},
    content: @Composable ColumnScope.() -> Unit,
) {
    Column(Modifier.fillMaxSize().testTag("screen-$tag")) {
        Row(
            Modifier.fillMaxWidth().background(MaterialTheme.colorScheme.primary).padding(horizontal = 8.dp, vertical = 4.dp),
            verticalAlignment = Alignment.CenterVertically,
        ) {
            if (onBack != null) {
                TextButton(onClick = onBack, modifier = Modifier.heightIn(min = 48.dp).testTag("back")) {
                    Text("‹ " + t(S.Back), color = Color.White)
                }
            }
            Text(
                title,
                Modifier.weight(1f).padding(8.dp).semantics { heading() },
                color = Color.White, style = MaterialTheme.typography.titleLarge,
            )
            actions()
        }
        Column(
            Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp),
            verticalArrangement = Arrangement.spacedBy(12.dp),
            content = content,
        )
    }
}

@Composable
fun BarButton(label: String, tag: String, onClick: () -> Unit) {
    TextButton(onClick = onClick, modifier = Modifier.heightIn(min = 48.dp).testTag(tag)) { Text(label, color = Color.White) }
}

enum class Tone { Error, Notice, Alarm }

@Composable
fun Banner(text: String, tone: Tone, tag: String = if (tone == Tone.Error) "error" else "notice") {
    val (bg, fg) = when (tone) {
        Tone.Error -> Color(0xFFFDECEA) to Color(0xFF942514)
        Tone.Notice -> Color(0xFFE8F1F8) to Color(0xFF0B0C0C)
        Tone.Alarm -> Color(0xFFD4351C) to Color.White
    }
    Text(
        text,
        Modifier.fillMaxWidth().background(bg).padding(12.dp).testTag(tag),
        color = fg, fontWeight = if (tone == Tone.Alarm) FontWeight.Bold else FontWeight.Normal,
    )
}

@Composable
fun PrimaryButton(label: String, tag: String, enabled: Boolean = true, danger: Boolean = false, onClick: () -> Unit) {
    Button(
        onClick = onClick, enabled = enabled,
        modifier = Modifier.fillMaxWidth().heightIn(min = 48.dp).testTag(tag),
        colors = if (danger) ButtonDefaults.buttonColors(containerColor = MaterialTheme.colorScheme.error) else ButtonDefaults.buttonColors(),
    ) { Text(label) }
}

@Composable
fun SecondaryButton(label: String, tag: String, enabled: Boolean = true, onClick: () -> Unit) {
    OutlinedButton(onClick = onClick, enabled = enabled, modifier = Modifier.heightIn(min = 48.dp).testTag(tag)) { Text(label) }
}

@OptIn(ExperimentalLayoutApi::class)
@Composable
fun ButtonRow(content: @Composable () -> Unit) {
    FlowRow(horizontalArrangement = Arrangement.spacedBy(8.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) { content() }
}

@Composable
fun Field(
    label: String,
    value: String,
    tag: String,
    onChange: (String) -> Unit,
    secret: Boolean = false,
    number: Boolean = false,
    singleLine: Boolean = true,
    supporting: String? = null,
    error: String? = null,
) {
    OutlinedTextField(
        value = value, onValueChange = onChange, label = { Text(label) },
        modifier = Modifier.fillMaxWidth().testTag(tag), singleLine = singleLine, isError = error != null,
        visualTransformation = if (secret) PasswordVisualTransformation() else VisualTransformation.None,
        keyboardOptions = KeyboardOptions(keyboardType = if (secret || number) KeyboardType.NumberPassword else KeyboardType.Text),
        supportingText = (error ?: supporting)?.let { { Text(it, Modifier.testTag("$tag-message")) } },
    )
}

/** A question that must be answered: nothing is pre-selected. */
@Composable
fun YesNo(question: String, answer: Boolean?, tag: String, onAnswer: (Boolean) -> Unit) {
    Column(Modifier.fillMaxWidth()) {
        Text(question, style = MaterialTheme.typography.bodyLarge)
        Row {
            Choice(t(S.Yes), answer == true, "$tag-yes") { onAnswer(true) }
            Choice(t(S.No), answer == false, "$tag-no") { onAnswer(false) }
        }
    }
}

@Composable
fun Choice(label: String, selected: Boolean, tag: String, onSelect: () -> Unit) {
    Row(
        Modifier.heightIn(min = 48.dp).selectable(selected = selected, role = Role.RadioButton, onClick = onSelect)
            .testTag(tag).padding(end = 16.dp),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        RadioButton(selected = selected, onClick = null)
        Text(label, Modifier.padding(start = 4.dp))
    }
}

@Composable
fun Toggle(label: String, checked: Boolean, tag: String, onChange: (Boolean) -> Unit) {
    Row(
        Modifier.fillMaxWidth().heightIn(min = 48.dp)
            .selectable(selected = checked, role = Role.Checkbox, onClick = { onChange(!checked) }).testTag(tag),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        Checkbox(checked = checked, onCheckedChange = null)
        Text(label, Modifier.padding(start = 8.dp))
    }
}

/** A card that asks before something that cannot be undone (inline, so it renders and reads in order). */
@Composable
fun ConfirmCard(text: String, tag: String, confirmLabel: String, onConfirm: () -> Unit, onCancel: () -> Unit, extra: @Composable ColumnScope.() -> Unit = {}) {
    Card(Modifier.fillMaxWidth().testTag(tag)) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Text(text, fontWeight = FontWeight.Bold)
            extra()
            ButtonRow {
                SecondaryButton(t(S.Cancel), "$tag-cancel", onClick = onCancel)
                Button(onClick = onConfirm, modifier = Modifier.heightIn(min = 48.dp).testTag("$tag-confirm")) { Text(confirmLabel) }
            }
        }
    }
}

@Composable
fun Heading(text: String) {
    Text(text, style = MaterialTheme.typography.titleMedium, modifier = Modifier.semantics { heading() })
}

@Composable
fun Divider() = HorizontalDivider()

/** A labelled number, read out as one phrase. */
@Composable
fun Figure(label: String, value: String, tag: String) {
    Row(Modifier.fillMaxWidth().semantics(mergeDescendants = true) { contentDescription = "$label $value" }.testTag(tag)) {
        Text(label, Modifier.weight(1f))
        Text(value, fontWeight = FontWeight.Bold)
    }
}
