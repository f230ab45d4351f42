package app.fieldbook.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text

/** Unlock, then today's sessions; the session id comes from the core's Today view. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = (application as FieldbookApplication).fieldbook
        setContent {
            MaterialTheme {
                if (!app.isUnlocked()) {
                    Text("Enter your PIN to unlock Fieldbook")
                } else {
                    val today = app.upwToday(0u)
                    val session = today.firstOrNull()
                    if (session == null) Text("No sessions today") else {
                        val model = RollCallViewModel(app, session.sessionId).also { it.refresh() }
                        RollCallScreen(model)
                    }
                }
            }
        }
    }
}
