// swift-tools-version:6.0
// The Rust core for the app: the uniffi-generated Swift API over the static
// libraries in an XCFramework. Every path below is in the layout
// ../layout.sh names, written by ../build-xcframework.sh (the generated
// parts are never committed).
import PackageDescription

let package = Package(
    name: "FieldbookCore",
    platforms: [.iOS(.v17)],
    products: [.library(name: "FieldbookCore", targets: ["FieldbookCore"])],
    targets: [
        // The static libraries for device and simulator, with Headers/ (FieldbookCoreFFI.h, module.modulemap).
        .binaryTarget(name: "FieldbookCoreFFI", path: "Frameworks/FieldbookCoreFFI.xcframework"),
        // Sources/FieldbookCore/FieldbookCore.swift, generated.
        .target(name: "FieldbookCore", dependencies: ["FieldbookCoreFFI"], path: "Sources/FieldbookCore"),
    ],
    swiftLanguageModes: [.v6]
)
