import CryptoKit
import FieldbookCore
import Foundation
import LocalAuthentication
import Security

/// The platform key store the core wraps its PIN-wrapped data key with: an
/// AES-256 key in a Keychain item that is readable only while the phone is
/// unlocked, never leaves this device (not in backups, not restored onto
/// another phone) and needs the device's user (passcode or biometrics,
/// `.userPresence`) within `reuseSeconds`. The Secure Enclave then limits
/// and throttles guesses, so a copied database cannot be attacked offline.
///
/// The core calls it off the main actor and must never be blocked by a
/// prompt: the LocalAuthentication context does not allow interaction, so a
/// needed prompt surfaces as `KeyStoreFailure.UserAuthenticationRequired`
/// (the core then reports `FieldbookError.UserAuthenticationRequired`
/// without counting a PIN attempt), the unlock screen calls
/// `authenticate(reason:)` and retries.
final class KeychainKeyStore: KeyStore, @unchecked Sendable {
    // @unchecked: the only mutable state (`context`, `authenticatedAt`) is guarded by `lock`.
    private let service = "app.fieldbook.ios.platform-key"
    private let account = "data-key-wrap"
    /// A supervisor is not asked twice within five minutes (as on Android).
    private let reuseSeconds: TimeInterval = 300
    private let lock = NSLock()
    private var context: LAContext
    /// When the owner last authenticated (uptime seconds); the context is dropped `reuseSeconds` later.
    private var authenticatedAt: TimeInterval?

    init() {
        context = Self.quietContext(reuse: reuseSeconds)
    }

    private static func quietContext(reuse: TimeInterval) -> LAContext {
        let context = LAContext()
        context.touchIDAuthenticationAllowableReuseDuration = reuse
        context.interactionNotAllowed = true
        return context
    }

    private func currentContext() -> LAContext {
        lock.lock()
        defer { lock.unlock() }
        if let at = authenticatedAt, ProcessInfo.processInfo.systemUptime - at > reuseSeconds {
            context.invalidate()
            context = Self.quietContext(reuse: reuseSeconds)
            authenticatedAt = nil
        }
        return context
    }

    /// Prompts for the device's credential (passcode, Face ID, Touch ID);
    /// the next core call reuses the authenticated context for `reuseSeconds`.
    func authenticate(reason: String) async -> Bool {
        let prompt = LAContext()
        prompt.touchIDAuthenticationAllowableReuseDuration = reuseSeconds
        do {
            guard try await prompt.evaluatePolicy(.deviceOwnerAuthentication, localizedReason: reason) else { return false }
        } catch {
            return false
        }
        prompt.interactionNotAllowed = true
        lock.lock()
        context = prompt
        authenticatedAt = ProcessInfo.processInfo.systemUptime
        lock.unlock()
        return true
    }

    private func baseQuery() -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }

    private func readKey() throws -> SymmetricKey? {
        var query = baseQuery()
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        query[kSecUseAuthenticationContext as String] = currentContext()
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data, data.count == 32 else { throw KeyStoreFailure.Failed(reason: "keychain item malformed") }
            return SymmetricKey(data: data)
        case errSecItemNotFound:
            return nil
        case errSecInteractionNotAllowed, errSecAuthFailed, errSecUserCanceled:
            throw KeyStoreFailure.UserAuthenticationRequired
        default:
            throw KeyStoreFailure.Failed(reason: "keychain read \(status)")
        }
    }

    private func createKey() throws -> SymmetricKey {
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            nil, kSecAttrAccessibleWhenUnlockedThisDeviceOnly, .userPresence, &error
        ) else {
            throw KeyStoreFailure.Failed(reason: "access control")
        }
        let key = SymmetricKey(size: .bits256)
        var add = baseQuery()
        add[kSecAttrAccessControl as String] = access
        add[kSecUseAuthenticationContext as String] = currentContext()
        add[kSecValueData as String] = key.withUnsafeBytes { Data($0) }
        let status = SecItemAdd(add as CFDictionary, nil)
        guard status == errSecSuccess else {
            throw KeyStoreFailure.Failed(reason: "keychain add \(status)")
        }
        return key
    }

    func wrap(plaintext: Data) throws -> Data {
        let key = try readKey() ?? createKey()
        do {
            guard let sealed = try AES.GCM.seal(plaintext, using: key).combined else {
                throw KeyStoreFailure.Failed(reason: "seal")
            }
            return sealed
        } catch let failure as KeyStoreFailure {
            throw failure
        } catch {
            throw KeyStoreFailure.Failed(reason: "seal")
        }
    }

    func unwrap(wrapped: Data) throws -> Data {
        // A missing item is a lost key (Keychain reset, restored elsewhere): nothing is deleted.
        guard let key = try readKey() else { throw KeyStoreFailure.KeyUnavailable }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: key)
        } catch {
            throw KeyStoreFailure.KeyUnavailable
        }
    }

    /// The crypto-shred's last step: the Keychain item does not survive.
    func deleteKey() throws {
        let status = SecItemDelete(baseQuery() as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw KeyStoreFailure.Failed(reason: "keychain delete \(status)")
        }
    }
}
