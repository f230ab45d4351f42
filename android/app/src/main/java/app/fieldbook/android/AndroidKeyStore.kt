package app.fieldbook.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.UserNotAuthenticatedException
import app.fieldbook.core.KeyStore
import app.fieldbook.core.KeyStoreFailure
import java.security.KeyStore as JKeyStore
import java.security.UnrecoverableKeyException
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * Wraps the core's PIN-wrapped data key with a non-exportable AES key in
 * the Android Keystore. The key needs the phone to have been unlocked by
 * its owner within the last five minutes (device credential or strong
 * biometric) and is unusable while the phone is locked.
 */
class AndroidKeyStore(private val alias: String = "fieldbook-data-key-wrap") : KeyStore {
    private val ks = JKeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    private fun key(create: Boolean): SecretKey? {
        (ks.getEntry(alias, null) as? JKeyStore.SecretKeyEntry)?.let { return it.secretKey }
        if (!create) return null
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .setRandomizedEncryptionRequired(true)
            .setUserAuthenticationRequired(true)
            .setInvalidatedByBiometricEnrollment(false)
        // API 28+ (the app's minSdk): the key is unusable while the phone is locked.
        if (Build.VERSION.SDK_INT >= 28) spec.setUnlockedDeviceRequired(true)
        if (Build.VERSION.SDK_INT >= 30) {
            spec.setUserAuthenticationParameters(300, KeyProperties.AUTH_DEVICE_CREDENTIAL or KeyProperties.AUTH_BIOMETRIC_STRONG)
        } else {
            @Suppress("DEPRECATION")
            spec.setUserAuthenticationValidityDurationSeconds(300)
        }
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(spec.build())
        return gen.generateKey()
    }

    override fun wrap(plaintext: ByteArray): ByteArray = guarded {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key(create = true))
        cipher.iv + cipher.doFinal(plaintext)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray {
        val key = key(create = false) ?: throw KeyStoreFailure.KeyUnavailable()
        return guarded {
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped.copyOfRange(0, 12)))
            cipher.doFinal(wrapped.copyOfRange(12, wrapped.size))
        }
    }

    /**
     * The crypto-shred's last step: the Keystore alias is deleted, so what it
     * wrapped can never be opened again. A key already gone is not an error.
     */
    override fun deleteKey() {
        try {
            if (ks.containsAlias(alias)) ks.deleteEntry(alias)
        } catch (e: Exception) {
            throw KeyStoreFailure.Failed(e.javaClass.simpleName)
        }
    }

    /** The key is gone for good: KeyUnavailable (the core keeps the data); anything else is a passing failure. */
    private inline fun <T> guarded(block: () -> T): T = try {
        block()
    } catch (e: KeyStoreFailure) {
        throw e
    } catch (e: KeyPermanentlyInvalidatedException) {
        throw KeyStoreFailure.KeyUnavailable()
    } catch (e: UnrecoverableKeyException) {
        throw KeyStoreFailure.KeyUnavailable()
    } catch (e: AEADBadTagException) {
        throw KeyStoreFailure.KeyUnavailable()
    } catch (e: UserNotAuthenticatedException) {
        // The owner has not authenticated in the last 300 s: the UI prompts
        // for the device credential (BiometricPrompt) and the core retries.
        throw KeyStoreFailure.UserAuthenticationRequired()
    } catch (e: Exception) {
        throw KeyStoreFailure.Failed(e.javaClass.simpleName)
    }
}
