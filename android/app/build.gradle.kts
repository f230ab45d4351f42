// The Android-only shell: activity (FLAG_SECURE), Keystore key store,
// exact-alarm lone-worker receiver with its schedule file, boot re-arm,
// WorkManager sync, notifications. The core for the phone ABIs is built
// with cargo-ndk; screens come from :ui.
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val workspace = rootProject.projectDir.parentFile
val jniLibs = layout.buildDirectory.dir("generated/jniLibs")
val abis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

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
        ndk { abiFilters += abis }
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
    sourceSets["main"].jniLibs.srcDir(jniLibs)
}

// Rust core for the phone ABIs (needs `cargo install cargo-ndk`, the NDK and
// `rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`).
// Inputs and outputs are declared, so the task is up to date when nothing changed.
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = workspace
    inputs.files(fileTree(workspace.resolve("core/src")), fileTree(workspace.resolve("bindings/src")))
    inputs.files(workspace.resolve("Cargo.lock"), workspace.resolve("Cargo.toml"), workspace.resolve("core/Cargo.toml"), workspace.resolve("bindings/Cargo.toml"))
    inputs.property("abis", abis)
    outputs.files(abis.map { jniLibs.get().file("$it/libfieldbook_ffi.so") })
    commandLine(
        listOf("cargo", "ndk") + abis.flatMap { listOf("-t", it) } +
            listOf("--platform", "28", "-o", jniLibs.get().asFile.path, "build", "--release", "-p", "fieldbook-ffi", "--lib"),
    )
}

tasks.named("preBuild") { dependsOn(cargoNdk) }

dependencies {
    implementation(project(":ui"))
    implementation("androidx.activity:activity-compose:1.9.3")
    implementation("androidx.lifecycle:lifecycle-viewmodel-compose:2.8.7")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
}
