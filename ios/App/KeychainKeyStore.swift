import CryptoKit
import FieldbookCore
import Foundation
import Security

/// Wraps the core's PIN-wrapped data key with an AES key kept in the
/// Keychain, this device only (not in backups, not restored elsewhere).
final class KeychainKeyStore: KeyStore {
    private let account = "fieldbook-data-key-wrap"

    private func key(create: Bool) throws -> SymmetricKey? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
        ]
        var item: CFTypeRef?
        if SecItemCopyMatching(query as CFDictionary, &item) == errSecSuccess, let data = item as? Data {
            return SymmetricKey(data: data)
        }
        guard create else { return nil }
        let key = SymmetricKey(size: .bits256)
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrAccount as String: account,
            kSecAttrAccessible as String: kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
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
}
