package app.fieldbook.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import app.fieldbook.core.KeyStore
import app.fieldbook.core.KeyStoreFailure
import java.security.KeyStore as JKeyStore
import java.security.UnrecoverableKeyException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/** Wraps the core's PIN-wrapped data key with a non-exportable Keystore key. */
class AndroidKeyStore(private val alias: String = "fieldbook-data-key-wrap") : KeyStore {
    private val ks = JKeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    private fun key(create: Boolean): SecretKey? {
        (ks.getEntry(alias, null) as? JKeyStore.SecretKeyEntry)?.let { return it.secretKey }
        if (!create) return null
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .setIsStrongBoxBacked(false)
                .build()
        )
        return gen.generateKey()
    }

    override fun wrap(plaintext: ByteArray): ByteArray {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key(create = true))
        return cipher.iv + cipher.doFinal(plaintext)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray {
        val key = key(create = false) ?: throw KeyStoreFailure.KeyUnavailable()
        return try {
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, wrapped.copyOfRange(0, 12)))
            cipher.doFinal(wrapped.copyOfRange(12, wrapped.size))
        } catch (e: KeyPermanentlyInvalidatedException) {
            throw KeyStoreFailure.KeyUnavailable()
        } catch (e: UnrecoverableKeyException) {
            throw KeyStoreFailure.KeyUnavailable()
        } catch (e: javax.crypto.AEADBadTagException) {
            throw KeyStoreFailure.KeyUnavailable()
        } catch (e: Exception) {
            throw KeyStoreFailure.Failed(e.javaClass.simpleName)
        }
    }
}
