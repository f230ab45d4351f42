import FieldbookCore
import os

/// The core's log lines into the unified log. The core logs no personal
/// data; the lines are still marked private so they are redacted outside a
/// debugger. The shell itself logs nothing about records.
final class CoreLogSink: LogSink, Sendable {
    private let logger = Logger(subsystem: "app.fieldbook.ios", category: "core")

    func log(level: String, message: String) {
        switch level {
        case "error": logger.error("\(message, privacy: .private)")
        case "warn": logger.warning("\(message, privacy: .private)")
        case "info": logger.info("\(message, privacy: .private)")
        default: logger.debug("\(message, privacy: .private)")
        }
    }
}
