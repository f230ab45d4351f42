import SwiftUI

/// The few building blocks every screen shares. Text styles only (Dynamic
/// Type scales every one), tap targets at least 44 points, and every
/// control labelled for VoiceOver.
enum Tone {
    case notice, error, alarm
}

struct Banner: View {
    let text: String
    var tone: Tone = .notice

    var body: some View {
        HStack(alignment: .firstTextBaseline, spacing: 8) {
            Image(systemName: symbol).accessibilityHidden(true)
            Text(text).font(.body).fixedSize(horizontal: false, vertical: true)
        }
        .padding(12)
        .frame(maxWidth: .infinity, alignment: .leading)
        .background(background, in: RoundedRectangle(cornerRadius: 8))
        .accessibilityElement(children: .combine)
        .accessibilityAddTraits(tone == .notice ? [] : .isHeader)
    }

    private var symbol: String {
        switch tone {
        case .notice: "info.circle"
        case .error: "exclamationmark.triangle"
        case .alarm: "bell.badge"
        }
    }

    private var background: Color {
        switch tone {
        case .notice: Color.accentColor.opacity(0.15)
        case .error: Color.orange.opacity(0.25)
        case .alarm: Color.red.opacity(0.3)
        }
    }
}

/// A labelled text field, with the core's message under it when it has one.
struct Field: View {
    let label: String
    @Binding var text: String
    var secret = false
    var number = false
    var multiline = false
    var supporting: String?
    var error: String?

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text(label).font(.subheadline)
            Group {
                if secret {
                    SecureField(label, text: $text).textContentType(.password)
                } else if multiline {
                    TextField(label, text: $text, axis: .vertical).lineLimit(3...8)
                } else {
                    TextField(label, text: $text)
                }
            }
            .keyboardType(number || secret ? .numberPad : .default)
            .textInputAutocapitalization(.never)
            .autocorrectionDisabled()
            .textFieldStyle(.roundedBorder)
            .frame(minHeight: 44)
            .accessibilityLabel(label)
            .accessibilityHint(error ?? supporting ?? "")
            if let supporting { Text(supporting).font(.footnote).foregroundStyle(.secondary) }
            if let error { Text(error).font(.footnote).foregroundStyle(.red) }
        }
    }
}

/// A question answered yes or no, with nothing chosen until the person chooses.
struct YesNo: View {
    let question: String
    let answer: Bool?
    let onAnswer: (Bool) -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            Text(question).font(.body)
            HStack {
                choice(L10n.t("common.yes"), true)
                choice(L10n.t("common.no"), false)
            }
        }
        .accessibilityElement(children: .contain)
    }

    private func choice(_ title: String, _ value: Bool) -> some View {
        Button { onAnswer(value) } label: {
            Label(title, systemImage: answer == value ? "largecircle.fill.circle" : "circle")
                .frame(minWidth: 88, minHeight: 44)
        }
        .buttonStyle(.bordered)
        .accessibilityLabel(question + " " + title)
        .accessibilityAddTraits(answer == value ? .isSelected : [])
    }
}

/// One option of several, selected or not.
struct Choice: View {
    let title: String
    var detail: String?
    let selected: Bool
    let onSelect: () -> Void

    var body: some View {
        Button(action: onSelect) {
            HStack(alignment: .firstTextBaseline) {
                Image(systemName: selected ? "checkmark.circle.fill" : "circle").accessibilityHidden(true)
                VStack(alignment: .leading) {
                    Text(title).font(.body)
                    if let detail { Text(detail).font(.footnote).foregroundStyle(.secondary) }
                }
                Spacer(minLength: 0)
            }
            .frame(minHeight: 44)
            .contentShape(Rectangle())
        }
        .buttonStyle(.plain)
        .accessibilityAddTraits(selected ? .isSelected : [])
    }
}

/// A primary action button.
struct ActionButton: View {
    let title: String
    var role: ButtonRole?
    var prominent = true
    var enabled = true
    let action: () -> Void

    var body: some View {
        Group {
            if prominent {
                Button(role: role, action: action) { label }.buttonStyle(.borderedProminent)
            } else {
                Button(role: role, action: action) { label }.buttonStyle(.bordered)
            }
        }
        .disabled(!enabled)
    }

    private var label: some View {
        Text(title).frame(maxWidth: .infinity, minHeight: 44)
    }
}

/// A figure with its label, read by VoiceOver as one.
struct Figure: View {
    let label: String
    let value: String

    var body: some View {
        LabeledContent(label, value: value)
            .frame(minHeight: 44)
            .accessibilityElement(children: .combine)
    }
}

/// The error and notice banners every screen shows at its top.
struct Messages: View {
    let message: String?
    var notice: String?

    var body: some View {
        if let message { Banner(text: message, tone: .error) }
        if let notice { Banner(text: notice, tone: .notice) }
    }
}

extension View {
    /// Asks the core again each time the screen comes (back) into view.
    func reloadOnAppear(_ load: @escaping @MainActor () async -> Void) -> some View {
        onAppear { Task { await load() } }
    }
}
