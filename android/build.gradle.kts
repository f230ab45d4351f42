// Versions that go together: AGP 8.7.3 (Gradle 8.9+; the wrapper pins
// 8.11.1), Kotlin 2.1.0 with its own Compose compiler plugin (same
// version, as Kotlin 2.x requires), Compose BOM 2024.12.01 = Compose 1.7.6,
// the same 1.7 API line the desktop render compiles against (Compose
// Multiplatform 1.7.3).
plugins {
    id("com.android.application") version "8.7.3" apply false
    id("com.android.library") version "8.7.3" apply false
    id("org.jetbrains.kotlin.android") version "2.1.0" apply false
    id("org.jetbrains.kotlin.plugin.compose") version "2.1.0" apply false
}
