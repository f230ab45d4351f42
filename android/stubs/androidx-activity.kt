// UNVERIFIED SIGNATURE STUB (compile-only; never shipped). The real
// artifact, androidx.activity:activity-compose 1.9.3, is published only in
// Google's Maven repository, which this machine cannot reach. Only the
// members the app calls are declared, with the real package, names and
// parameter types.
package androidx.activity

open class ComponentActivity : android.app.Activity()
