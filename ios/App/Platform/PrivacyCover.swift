import SwiftUI

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
