// The thin Android shell. All rules live in the Rust core; this module
// builds the core for the phone ABIs with cargo-ndk, generates the Kotlin
// bindings with the workspace's uniffi-bindgen (library mode), and renders
// the core's view models with Compose.
import org.gradle.api.tasks.Exec

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val workspace = rootProject.projectDir.parentFile
val jniLibs = layout.projectDirectory.dir("src/main/jniLibs")
val generated = layout.buildDirectory.dir("generated/uniffi/kotlin")

android {
    namespace = "app.fieldbook.android"
    compileSdk = 35
    ndkVersion = "27.2.12479018"
    defaultConfig {
        applicationId = "app.fieldbook.android"
        minSdk = 28
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }
    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    buildFeatures { compose = true }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    sourceSets["main"].java.srcDir(generated)
}

// Rust core for the phone ABIs (needs `cargo install cargo-ndk` and the
// Android NDK; `rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`).
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = workspace
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "--platform", "28",
        "-o", jniLibs.asFile.path,
        "build", "--release", "-p", "fieldbook-ffi", "--lib",
    )
}

// Kotlin bindings from the built library, in library mode.
val uniffiBindings by tasks.registering(Exec::class) {
    dependsOn(cargoNdk)
    workingDir = workspace
    commandLine(
        "cargo", "run", "-q", "-p", "fieldbook-ffi", "--bin", "uniffi-bindgen", "--",
        "generate", jniLibs.file("arm64-v8a/libfieldbook_ffi.so").asFile.path,
        "--language", "kotlin", "--out-dir", generated.get().asFile.path, "--no-format",
    )
}

tasks.named("preBuild") { dependsOn(uniffiBindings) }

dependencies {
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.ui:ui")
    implementation("androidx.activity:activity-compose:1.9.3")
    implementation("androidx.lifecycle:lifecycle-viewmodel-compose:2.8.7")
    implementation("androidx.lifecycle:lifecycle-runtime-compose:2.8.7")
}
