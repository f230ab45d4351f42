import CryptoKit
import FieldbookCore
import Foundation
import LocalAuthentication
import Security

/// Wraps the core's PIN-wrapped data key with an AES key kept in the
/// Keychain, this device only (not in backups, not restored elsewhere), and
/// readable only after the device's user has authenticated (device passcode
/// or biometrics) within `reuseSeconds`: the Secure Enclave then enforces
/// the retry limit, so a rooted phone cannot guess the app PIN offline.
final class KeychainKeyStore: KeyStore, @unchecked Sendable {
    private let account = "fieldbook-data-key-wrap"
    /// A supervisor is not asked twice within this many seconds.
    private let reuseSeconds: TimeInterval = 300
    private let context: LAContext

    init() {
        context = LAContext()
        context.touchIDAuthenticationAllowableReuseDuration = reuseSeconds
        // Never prompt from inside the core's call: report "authentication
        // required" and let the shell prompt on the main actor.
        context.interactionNotAllowed = true
    }

    /// Called by the shell after the core reported UserAuthenticationRequired.
    func authenticate(reason: String) async throws {
        context.interactionNotAllowed = false
        defer { context.interactionNotAllowed = true }
        try await context.evaluatePolicy(.deviceOwnerAuthentication, localizedReason: reason)
    }

    private func key(create: Bool) throws -> SymmetricKey? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
            kSecUseAuthenticationContext as String: context,
        ]
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            if let data = item as? Data { return SymmetricKey(data: data) }
        case errSecInteractionNotAllowed, errSecAuthFailed, errSecUserCanceled:
            throw KeyStoreFailure.UserAuthenticationRequired
        default:
            break
        }
        guard create else { return nil }
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            nil, kSecAttrAccessibleWhenUnlockedThisDeviceOnly, .userPresence, &error
        ) else {
            throw KeyStoreFailure.Failed(reason: "access control")
        }
        let key = SymmetricKey(size: .bits256)
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecAttrAccessControl as String: access,
            kSecUseAuthenticationContext as String: context,
            kSecValueData as String: key.withUnsafeBytes { Data($0) },
        ]
        guard SecItemAdd(add as CFDictionary, nil) == errSecSuccess else {
            throw KeyStoreFailure.Failed(reason: "keychain add failed")
        }
        return key
    }

    func wrap(plaintext: Data) throws -> Data {
        guard let key = try key(create: true) else { throw KeyStoreFailure.KeyUnavailable }
        guard let sealed = try AES.GCM.seal(plaintext, using: key).combined else {
            throw KeyStoreFailure.Failed(reason: "seal failed")
        }
        return sealed
    }

    func unwrap(wrapped: Data) throws -> Data {
        guard let key = try key(create: false) else { throw KeyStoreFailure.KeyUnavailable }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: key)
        } catch {
            throw KeyStoreFailure.KeyUnavailable
        }
    }

    /// The crypto-shred's last step: the Keychain item does not survive.
    func deleteKey() throws {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
        ]
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw KeyStoreFailure.Failed(reason: "keychain delete failed")
        }
    }
}
