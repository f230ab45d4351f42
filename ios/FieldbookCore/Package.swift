// swift-tools-version:5.9
// The generated Swift bindings over the Rust core, with the static library
// as an XCFramework built by ../build-xcframework.sh.
import PackageDescription

let package = Package(
    name: "FieldbookCore",
    platforms: [.iOS(.v16)],
    products: [.library(name: "FieldbookCore", targets: ["FieldbookCore"])],
    targets: [
        .binaryTarget(name: "FieldbookCoreFFI", path: "../build/FieldbookCoreFFI.xcframework"),
        .target(name: "FieldbookCore", dependencies: ["FieldbookCoreFFI"], path: "Sources/FieldbookCore"),
    ]
)
