// UNVERIFIED SIGNATURE STUB (compile-only); see androidx-activity.kt.
package androidx.activity.compose

import androidx.activity.ComponentActivity
import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionContext

fun ComponentActivity.setContent(parent: CompositionContext? = null, content: @Composable () -> Unit): Unit =
    throw UnsupportedOperationException("stub")
