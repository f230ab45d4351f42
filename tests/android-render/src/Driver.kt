// Driving the UI as a person would: find by test tag, scroll to, tap, type;
// wait (with a deadline) for the core's answer to show.
package app.fieldbook.render

import androidx.compose.ui.graphics.toAwtImage
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.semantics.getOrNull
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.hasClickAction
import androidx.compose.ui.test.onAllNodesWithTag
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTextClearance
import androidx.compose.ui.test.performTextInput
import androidx.compose.ui.unit.Density
import java.io.File
import javax.imageio.ImageIO
import kotlin.coroutines.EmptyCoroutineContext
import org.junit.Assert.assertTrue

@OptIn(ExperimentalTestApi::class)
class Driver(private val screens: File, private val fontScale: Float = 1f) {
    val shots = mutableListOf<String>()

    /** Renders like a 412 × 915 dp phone at density 2 (text scaled by `fontScale`). */
    fun run(block: SkikoComposeUiTest.() -> Unit) =
        SkikoComposeUiTest(824, 1830, EmptyCoroutineContext, Density(2f, fontScale)).runTest(block)

    /** Every tappable thing on screen is at least 48 × 48 dp. */
    fun SkikoComposeUiTest.assertTouchTargets() {
        val small = onAllNodes(hasClickAction()).fetchSemanticsNodes().filter { it.size.height < 96 || it.size.width < 96 }
        assertTrue("targets under 48 dp: ${small.map { it.config }}", small.isEmpty())
        assertTrue("some targets checked", onAllNodes(hasClickAction()).fetchSemanticsNodes().size > 3)
    }

    fun SkikoComposeUiTest.until(what: String, timeout: Long = 30_000, condition: () -> Boolean) {
        val deadline = System.currentTimeMillis() + timeout
        while (true) {
            waitForIdle()
            if (condition()) return
            if (System.currentTimeMillis() > deadline) {
                runCatching { ImageIO.write(captureToImage().toAwtImage(), "png", File(screens, "FAILED.png")) }
                throw AssertionError("timed out waiting for $what (screen in ${screens}/FAILED.png)")
            }
            Thread.sleep(40)
        }
    }

    private fun SkikoComposeUiTest.texts(tag: String): List<String> = listOf(true, false).flatMap { unmerged ->
        onAllNodesWithTag(tag, useUnmergedTree = unmerged).fetchSemanticsNodes().map { n ->
            (n.config.getOrNull(SemanticsProperties.Text)?.joinToString(" ") { it.text } ?: "") + " " +
                (n.config.getOrNull(SemanticsProperties.EditableText)?.text ?: "")
        }
    }

    fun SkikoComposeUiTest.exists(tag: String) = onAllNodesWithTag(tag, useUnmergedTree = true).fetchSemanticsNodes().isNotEmpty()
    fun SkikoComposeUiTest.await(tag: String, timeout: Long = 30_000) = until("node $tag", timeout) { exists(tag) }
    fun SkikoComposeUiTest.awaitText(tag: String, part: String, timeout: Long = 30_000) =
        until("$tag to show '$part' (shows ${runCatching { texts(tag) }.getOrNull()})", timeout) { texts(tag).any { it.contains(part) } }

    /** All the text a node shows. */
    fun SkikoComposeUiTest.text(tag: String): String {
        await(tag)
        return texts(tag).joinToString(" ")
    }

    /** What a text field holds. */
    fun SkikoComposeUiTest.value(tag: String): String {
        await(tag)
        return onNodeWithTag(tag).fetchSemanticsNode().config.getOrNull(SemanticsProperties.EditableText)?.text ?: ""
    }

    /** Scrolls the node into view when it sits in a scrolling column (title-bar buttons do not). */
    fun SkikoComposeUiTest.scrollTo(tag: String) {
        try {
            onNodeWithTag(tag).performScrollTo()
        } catch (e: AssertionError) {
            if (e.message?.contains("Scroll SemanticsAction") != true) throw e
        }
    }

    fun SkikoComposeUiTest.click(tag: String) {
        await(tag)
        scrollTo(tag)
        onNodeWithTag(tag).performClick()
        waitForIdle()
    }

    fun SkikoComposeUiTest.type(tag: String, text: String) {
        await(tag)
        scrollTo(tag)
        onNodeWithTag(tag).performClick()
        onNodeWithTag(tag).performTextClearance()
        onNodeWithTag(tag).performTextInput(text)
        waitForIdle()
    }

    fun SkikoComposeUiTest.shot(name: String) {
        waitForIdle()
        val file = File(screens, "$name.png")
        ImageIO.write(captureToImage().toAwtImage(), "png", file)
        assertTrue("$file written", file.length() > 10_000)
        shots += name
    }
}
