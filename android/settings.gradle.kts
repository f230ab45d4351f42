pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "Fieldbook"
// :ui is Android-free Kotlin + Compose (presenters, states, views, strings):
// tests/android-render compiles the same sources for the desktop JVM.
include(":ui")
// :app is the Android-only shell (activity, Keystore, alarms, workers).
include(":app")
