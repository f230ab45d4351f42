// Android-free UI: presenters (ViewModel + StateFlow), immutable states,
// stateless composables and the English/Welsh strings, over the generated
// uniffi bindings. Nothing here may import android.* (tests/android-render
// checks, and compiles these sources for the desktop JVM).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val workspace = rootProject.projectDir.parentFile
val generated = layout.buildDirectory.dir("generated/uniffi/kotlin")
val hostLib = workspace.resolve("target/debug/libfieldbook_ffi.so")

android {
    namespace = "app.fieldbook.ui"
    compileSdk = 35
    defaultConfig { minSdk = 28 }
    buildFeatures { compose = true }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    sourceSets["main"].java.srcDirs("src/main/kotlin", generated)
}

// The host library carries the same uniffi metadata as the phone builds;
// bindings are generated from it in library mode.
val hostLibrary by tasks.registering(Exec::class) {
    workingDir = workspace
    inputs.files(fileTree(workspace.resolve("core/src")), fileTree(workspace.resolve("bindings/src")))
    inputs.files(workspace.resolve("Cargo.lock"), workspace.resolve("core/Cargo.toml"), workspace.resolve("bindings/Cargo.toml"))
    outputs.file(hostLib)
    commandLine("cargo", "build", "-p", "fieldbook-ffi", "--lib", "--bins")
}

val uniffiBindings by tasks.registering(Exec::class) {
    dependsOn(hostLibrary)
    workingDir = workspace
    inputs.file(hostLib)
    outputs.dir(generated)
    commandLine(
        workspace.resolve("target/debug/uniffi-bindgen").path,
        "generate", hostLib.path, "--language", "kotlin", "--out-dir", generated.get().asFile.path, "--no-format",
    )
}

tasks.named("preBuild") { dependsOn(uniffiBindings) }

dependencies {
    api("net.java.dev.jna:jna:5.14.0@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    api(platform("androidx.compose:compose-bom:2024.12.01"))
    api("androidx.compose.material3:material3")
    api("androidx.compose.foundation:foundation")
    api("androidx.compose.ui:ui")
    api("androidx.lifecycle:lifecycle-viewmodel:2.8.7")
    api("androidx.lifecycle:lifecycle-runtime-compose:2.8.7")
    testImplementation("junit:junit:4.13.2")
}
