# The one layout of the Swift package's generated parts, sourced by
# scripts/generate-bindings.sh, ios/build-xcframework.sh and tests/ios/run.sh.
# Paths are relative to the repository root. Nothing here is committed:
# .gitignore lists each path.
#
#   ios/FieldbookCore/                         the Swift package (Package.swift is committed)
#     Sources/FieldbookCore/FieldbookCore.swift the generated Swift API (uniffi)
#     Headers/FieldbookCoreFFI.h               the generated C header
#     Headers/module.modulemap                 the generated module map, renamed
#     Frameworks/FieldbookCoreFFI.xcframework  the static libraries with Headers/ (macOS only)
IOS_PACKAGE=ios/FieldbookCore
IOS_SWIFT_DIR=$IOS_PACKAGE/Sources/FieldbookCore
IOS_SWIFT_FILE=$IOS_SWIFT_DIR/FieldbookCore.swift
IOS_HEADERS_DIR=$IOS_PACKAGE/Headers
IOS_HEADER=$IOS_HEADERS_DIR/FieldbookCoreFFI.h
IOS_MODULEMAP=$IOS_HEADERS_DIR/module.modulemap
IOS_XCFRAMEWORK=$IOS_PACKAGE/Frameworks/FieldbookCoreFFI.xcframework
# Intermediate products of the Apple build (the simulator's fat library).
IOS_BUILD_DIR=ios/build
