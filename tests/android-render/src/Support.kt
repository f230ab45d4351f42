// What the UI tests share: a real fieldbook-server process, the office's
// HTTP calls, a JVM key store and a clock the test can move forward.
package app.fieldbook.render

import app.fieldbook.core.ClockSource
import app.fieldbook.core.KeyStore
import app.fieldbook.core.KeyStoreFailure
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.security.SecureRandom
import java.util.TimeZone
import java.util.concurrent.TimeUnit
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

const val TOKEN = "android-render-office-token-0123456789"

/** AES-GCM in software, shaped as the Android Keystore wrapper is. */
class JvmKeyStore : KeyStore {
    @Volatile private var key: SecretKey? = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    private val random = SecureRandom()

    override fun wrap(plaintext: ByteArray): ByteArray {
        val key = key ?: throw KeyStoreFailure.KeyUnavailable()
        val iv = ByteArray(12).also { random.nextBytes(it) }
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(128, iv))
        return iv + cipher.doFinal(plaintext)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray = try {
        val key = key ?: throw KeyStoreFailure.KeyUnavailable()
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped.copyOfRange(0, 12)))
        cipher.doFinal(wrapped.copyOfRange(12, wrapped.size))
    } catch (e: Exception) {
        throw KeyStoreFailure.KeyUnavailable()
    }

    /** The crypto-shred's last step: the key is gone for good (again is not an error). */
    override fun deleteKey() {
        key = null
    }
}

/** The system clock, plus a forward skew the test sets to let a visit run late. */
class MovableClock : ClockSource {
    @Volatile var skewMs: Long = 0
    override fun nowUtcMs(): Long = System.currentTimeMillis() + skewMs
    override fun utcOffsetMinutes(): Int = TimeZone.getDefault().getOffset(nowUtcMs()) / 60000
    override fun monotonicMs(): ULong = (System.nanoTime() / 1_000_000 + skewMs).toULong()
}

/** A fieldbook-server process. */
class Server(private val dir: File, port: Int = 0) {
    private val process: Process
    val url: String

    init {
        val bin = System.getProperty("fieldbook.server") ?: error("fieldbook.server not set")
        // The office token is a secret: the server takes it from its environment, never the command line.
        process = ProcessBuilder(bin, "--listen", "127.0.0.1:$port", "--db", File(dir, "office.db").path)
            .also { it.environment()["FIELDBOOK_OFFICE_TOKEN"] = TOKEN }
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start()
        val line = process.inputStream.bufferedReader().readLine() ?: error("server printed nothing")
        url = line.removePrefix("listening on ").trim()
    }

    val port: Int get() = URI(url).port
    fun stop() {
        process.destroy()
        process.waitFor(10, TimeUnit.SECONDS)
    }
}

/** Every server a test starts, stopped however the test ends. */
class Servers : AutoCloseable {
    private val all = mutableListOf<Server>()
    fun start(dir: File, port: Int = 0): Server = Server(dir, port).also { all += it }
    override fun close() = all.forEach { it.stop() }
}

class Office(private val url: String) {
    private val http = HttpClient.newHttpClient()

    fun call(method: String, path: String, body: String? = null): String {
        val b = HttpRequest.newBuilder(URI("$url$path")).header("Authorization", "Bearer $TOKEN")
        if (body != null) b.header("Content-Type", "application/json")
        b.method(method, if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(body))
        val resp = http.send(b.build(), HttpResponse.BodyHandlers.ofString())
        if (resp.statusCode() !in 200..299) error("office $path: ${resp.statusCode()} ${resp.body()}")
        return resp.body()
    }

    fun enrolmentCode(officer: String): String =
        Regex("\"code\":\"([A-F0-9]+)\"").find(call("POST", "/v1/office/officers/$officer/enrolment-codes"))!!.groupValues[1]
}

fun hexId(): String = ByteArray(16).also { SecureRandom().nextBytes(it) }.joinToString("") { "%02x".format(it) }
