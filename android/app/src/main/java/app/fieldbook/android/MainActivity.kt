package app.fieldbook.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import app.fieldbook.core.SessionSummary
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/** Unlock, then today's first session; every core call runs off the main thread. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = (application as FieldbookApplication).fieldbook
        setContent {
            MaterialTheme {
                var unlocked by remember { mutableStateOf<Boolean?>(null) }
                var session by remember { mutableStateOf<SessionSummary?>(null) }
                LaunchedEffect(Unit) {
                    withContext(Dispatchers.IO) {
                        unlocked = app.isUnlocked()
                        if (unlocked == true) session = app.upwToday(0u).firstOrNull()
                    }
                }
                when {
                    unlocked == null -> Text("Opening…")
                    unlocked == false -> Text("Enter your PIN to unlock Fieldbook")
                    session == null -> Text("No sessions today")
                    else -> {
                        val model = remember(session) { RollCallViewModel(app, session!!.sessionId).also { it.refresh() } }
                        RollCallScreen(model)
                    }
                }
            }
        }
    }
}
