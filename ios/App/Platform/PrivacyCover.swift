import SwiftUI
import UIKit

/// Covers every screen when the app resigns active (the app switcher's
/// snapshot, Control Centre, an incoming call) and while the screen is
/// recorded or mirrored: nothing on it may be seen outside the app.
struct PrivacyCover: View {
    var body: some View {
        ZStack {
            Rectangle().fill(.background)
            VStack(spacing: 12) {
                Image(systemName: "lock.shield")
                    .font(.largeTitle)
                    .accessibilityHidden(true)
                Text(L10n.t("privacy.cover"))
                    .font(.headline)
            }
        }
        .ignoresSafeArea()
        .accessibilityElement(children: .combine)
        .accessibilityLabel(L10n.t("privacy.cover"))
    }
}

extension View {
    /// The privacy cover over this view whenever `covered` is true.
    func privacyCover(_ covered: Bool) -> some View {
        overlay {
            if covered { PrivacyCover().transition(.identity) }
        }
    }
}

/// The same cover in a window above every other (sheets, dialogs and
/// alerts are presented above the root view, so an overlay there would not
/// hide them).
@MainActor
final class PrivacyWindow {
    static let shared = PrivacyWindow()
    private var window: UIWindow?

    func show(_ covered: Bool) {
        guard covered else {
            window?.isHidden = true
            window = nil
            return
        }
        guard window == nil,
              let scene = UIApplication.shared.connectedScenes.compactMap({ $0 as? UIWindowScene }).first
        else { return }
        let cover = UIWindow(windowScene: scene)
        cover.windowLevel = .alert + 1
        cover.rootViewController = UIHostingController(rootView: PrivacyCover())
        cover.isHidden = false
        window = cover
    }
}
