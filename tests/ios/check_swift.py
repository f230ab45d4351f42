#!/usr/bin/env python3
"""Static checks of the iOS app's Swift, where no Swift compiler exists.

Nothing here compiles Swift: these checks catch what a compiler or a
reviewer would, as far as text can show it. Each prints what failed and
where; the exit status is the number of failures (capped at 100).

1. The core's API as the app calls it, against the generated
   FieldbookCore.swift: every `app.method(` (the FieldbookApp inside
   `core.run { app in ... }`), `handle.`/`h.` SyncHandle call and free
   function exists, with the argument labels in order (defaulted ones may
   be left out); every record built (`CheckIn(...)`, `OutcomeInput(...)`)
   uses its initialiser's labels; every `.case` the app matches or builds
   on a core enum or error exists; every foreign trait the app implements
   (`KeyStore`, `ClockSource`, ...) has each method with the generated
   signature; every member read from a value (`row.appointmentId`) is a
   field, method or case the generated code, the app itself or the Apple
   SDK (tests/ios/apple_members.txt) declares.
2. Strings: every `L10n.t("key", args...)` key exists in
   Localizable.xcstrings with an English and a Welsh value, each with as
   many placeholders as arguments given; no key is unused; no literal text
   goes to Text/Button/Label/Toggle/... (it would bypass the catalog).
3. Models: none is created inside a view's `body`; no `@ObservedObject`
   with an initialiser; each Screens/<Name>/ holds <Name>Model.swift and
   <Name>Screen.swift; no synchronous `core.app.` call (store calls go
   through `core.run`, off the main actor).
4. Platform conventions: the Keychain item is
   kSecAttrAccessibleWhenUnlockedThisDeviceOnly with access control and no
   weaker class appears; the store folder has complete file protection and
   is excluded from backup; the privacy cover is applied to the scene and
   raised on resign-active; background sync is a BGAppRefreshTask whose
   identifier project.yml permits; lone-worker notifications are
   time-sensitive with the entitlement, carry only catalog text with no
   arguments (no personal data) and the permission is asked from the start
   of a visit, not at launch; Swift 6 with complete strict concurrency; no
   print/NSLog; no fixed font sizes (Dynamic Type).
5. Parity with Android (name level): every core method and core type the
   Android app uses is used by the iOS app too.
"""

import argparse
import json
import os
import re
import sys

failures = []


def fail(msg):
    failures.append(msg)


# ---------------------------------------------------------------- Swift text

def strip_comments(src):
    """Removes // and /* */ comments, keeping string literals and line numbers."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i)
            j = n if j < 0 else j + 2
            out.append("\n" * src.count("\n", i, j))
            i = j
        elif c == '"':
            j = skip_string(src, i)
            out.append(src[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_string(src, i):
    """Index just past the string literal starting at i (handles \\( ) interpolation)."""
    if src.startswith('"""', i):
        j = src.find('"""', i + 3)
        return len(src) if j < 0 else j + 3
    j = i + 1
    while j < len(src):
        c = src[j]
        if c == "\\":
            if src.startswith("\\(", j):
                j = match_paren(src, j + 1) + 1
                continue
            j += 2
            continue
        if c == '"':
            return j + 1
        if c == "\n":
            return j
        j += 1
    return j


def match_paren(src, i):
    """Index of the bracket closing the one at i."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = [pairs[src[i]]]
    j = i + 1
    while j < len(src) and stack:
        c = src[j]
        if c == '"':
            j = skip_string(src, j)
            continue
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")]}":
            if c != stack[-1]:
                return j
            stack.pop()
        j += 1
    return j - 1


def split_args(text):
    """Top-level comma-separated arguments of a call's inside."""
    args, depth, cur, i = [], 0, [], 0
    while i < len(text):
        c = text[i]
        if c == '"':
            j = skip_string(text, i)
            cur.append(text[i:j])
            i = j
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        args.append("".join(cur).strip())
    return args


def arg_label(arg):
    m = re.match(r"^([A-Za-z_]\w*)\s*:(?!:)", arg)
    return m.group(1) if m else None


def without_strings(src):
    """Source with string literal contents blanked (interpolations kept)."""
    out, i = [], 0
    while i < len(src):
        if src[i] == '"':
            j = skip_string(src, i)
            lit = src[i:j]
            inner = re.findall(r"\\\((.*?)\)", lit)
            out.append('""' + (" " + " ".join(inner) if inner else "") + "\n" * lit.count("\n"))
            i = j
        else:
            out.append(src[i])
            i += 1
    return "".join(out)


def line_of(src, pos):
    return src.count("\n", 0, pos) + 1


# ---------------------------------------------------------- generated API

class Api:
    def __init__(self, path):
        src = strip_comments(open(path, encoding="utf-8").read())
        self.src = src
        self.protocols = {}  # name -> {method: [(label, has_default, type)], ...} plus signatures
        self.protocol_sigs = {}
        self.records = {}  # name -> [(label, has_default)]
        self.record_fields = {}
        self.enums = {}  # name -> set(cases)
        self.functions = {}  # free functions
        for m in re.finditer(r"^public protocol (\w+)\s*:[^{]*\{", src, re.M):
            body = src[m.end():match_paren(src, m.end() - 1)]
            meths, sigs = {}, {}
            for f in re.finditer(r"func (\w+)\(", body):
                close = match_paren(body, f.end() - 1)
                params = parse_params(body[f.end():close])
                rest = body[close + 1:].split("\n", 1)[0]
                meths[f.group(1)] = params
                sigs[f.group(1)] = normalise_sig(f.group(1), params, rest)
            self.protocols[m.group(1)] = meths
            self.protocol_sigs[m.group(1)] = sigs
        for m in re.finditer(r"^public struct (\w+)\b[^{]*\{", src, re.M):
            body = src[m.end():match_paren(src, m.end() - 1)]
            init = re.search(r"public init\(", body)
            if init and not m.group(1).startswith("FfiConverter"):
                close = match_paren(body, init.end() - 1)
                self.records[m.group(1)] = parse_params(body[init.end():close])
                self.record_fields[m.group(1)] = set(re.findall(r"public (?:var|let) (\w+)\s*:", body))
        # Objects' constructors (FieldbookApp(dbPath:keyStore:clock:scheduler:)) are checked like records' initialisers.
        for m in re.finditer(r"^open class (\w+)\b[^{]*\{", src, re.M):
            body = src[m.end():match_paren(src, m.end() - 1)]
            init = re.search(r"public convenience init\(", body)
            if init:
                close = match_paren(body, init.end() - 1)
                self.records[m.group(1)] = parse_params(body[init.end():close])
        for m in re.finditer(r"^(?:public\s+(?:indirect\s+)?)?enum (\w+)\b[^{]*\{", src, re.M):
            body = src[m.end():match_paren(src, m.end() - 1)]
            self.enums[m.group(1)] = set(re.findall(r"^\s*case (\w+)", body, re.M))
        for m in re.finditer(r"^public func (\w+)\(", src, re.M):
            close = match_paren(src, m.end() - 1)
            self.functions[m.group(1)] = parse_params(src[m.end():close])
        # Swift protocols cannot declare default arguments; the class that
        # implements the app protocol does (`= nil` for optional options).
        app_class = re.search(r"^open class FieldbookApp\b[^{]*\{", src, re.M)
        proto = self.protocols.get("FieldbookAppProtocol", {})
        if app_class:
            body = src[app_class.end():match_paren(src, app_class.end() - 1)]
            for f in re.finditer(r"open func (\w+)\(", body):
                close = match_paren(body, f.end() - 1)
                params = parse_params(body[f.end():close])
                declared = proto.get(f.group(1))
                if declared and len(declared) == len(params):
                    proto[f.group(1)] = [(lab, d or params[i][1], typ) for i, (lab, d, typ) in enumerate(declared)]
        self.app = proto
        self.handle = self.protocols.get("SyncHandleProtocol", {})
        self.members = set()
        for d in self.protocols.values():
            self.members |= set(d)
        for fs in self.record_fields.values():
            self.members |= fs
        for cs in self.enums.values():
            self.members |= cs
        self.members |= set(re.findall(r"public (?:var|let|func|static func|static let) (\w+)", src))


def parse_params(text):
    out = []
    for p in split_args(text):
        m = re.match(r"^(?:_\s+)?(\w+)\s*:\s*(.*)$", p, re.S)
        if not m:
            continue
        default = "=" in m.group(2)
        typ = m.group(2).split("=")[0].strip()
        out.append((m.group(1), default, re.sub(r"\s+", "", typ)))
    return out


def normalise_sig(name, params, rest):
    rest = re.sub(r"\s+", " ", rest.split("{")[0]).strip()
    rest = rest.replace(" throws", "throws").replace("throws ", "throws")
    ret = ""
    m = re.search(r"->\s*(.+)$", rest)
    if m:
        ret = re.sub(r"\s+", "", m.group(1))
    is_async = "async" in rest.split("->")[0]
    throws = "throws" in rest.split("->")[0]
    return (name, tuple((p[0], p[2]) for p in params), is_async, throws, ret)


def check_labels(where, what, given_args, params):
    labels = [arg_label(a) for a in given_args]
    pi = 0
    for lab, arg in zip(labels, given_args):
        while pi < len(params) and params[pi][0] != lab and params[pi][1]:
            pi += 1
        if pi >= len(params) or params[pi][0] != lab:
            expected = [p[0] for p in params]
            fail(f"{where}: {what}({', '.join(str(l) + ':' for l in labels)}) does not match the declaration "
                 f"({', '.join(e + ':' for e in expected)})")
            return
        pi += 1
    missing = [p[0] for p in params[pi:] if not p[1]]
    if missing:
        fail(f"{where}: {what} leaves out {', '.join(missing)} (it has no default)")


# ------------------------------------------------------------------- checks

def swift_files(app_dir):
    for dirpath, _, names in os.walk(app_dir):
        for n in sorted(names):
            if n.endswith(".swift"):
                p = os.path.join(dirpath, n)
                yield p, strip_comments(open(p, encoding="utf-8").read())


def check_api(api, files):
    called = set()
    for path, src in files:
        for m in re.finditer(r"\b(app|handle|h)\.(\w+)\(", src):
            recv, name = m.groups()
            table = api.app if recv == "app" else api.handle
            close = match_paren(src, m.end() - 1)
            args = split_args(src[m.end():close])
            where = f"{path}:{line_of(src, m.start())}"
            if name not in table:
                fail(f"{where}: {recv}.{name}( is not in the generated "
                     f"{'FieldbookApp' if recv == 'app' else 'SyncHandle'}")
                continue
            called.add(name)
            check_labels(where, f"{recv}.{name}", args, table[name])
        # The convention the check relies on: the FieldbookApp inside core.run is always `app`.
        for m in re.finditer(r"\bcore\.run(?:Authenticating)?\s*(?:\([^{]*?\)|\()?\s*\{\s*(\w+)(?:\s*->[^{]*?)?\s+in\b", src):
            if m.group(1) != "app":
                fail(f"{path}:{line_of(src, m.start())}: name the closure's FieldbookApp `app` (it is checked by that name)")
        for name, params in api.functions.items():
            for m in re.finditer(r"(?<![.\w])" + name + r"\(", src):
                close = match_paren(src, m.end() - 1)
                check_labels(f"{path}:{line_of(src, m.start())}", name, split_args(src[m.end():close]), params)
        for rec, params in api.records.items():
            for m in re.finditer(r"(?<![.\w])" + rec + r"\(", src):
                close = match_paren(src, m.end() - 1)
                args = split_args(src[m.end():close])
                check_labels(f"{path}:{line_of(src, m.start())}", rec, args, params)
        # Enum cases: `.name` used as a case pattern or value where a core enum has the type.
        for m in re.finditer(r"\b(FieldbookError|KeyStoreFailure|AlarmKind|SyncTrigger|RollCallAction|AppointmentStatus|"
                             r"SafetyStatus|Rating|Suitability|Condition|EnforcementAction|SyncPhase|SyncState|"
                             r"RollCallWarning)\.(\w+)", src):
            if m.group(2) not in api.enums.get(m.group(1), set()):
                fail(f"{path}:{line_of(src, m.start())}: {m.group(1)}.{m.group(2)} is not a generated case")
    return called


def memberwise_inits(files):
    """The app's own structs without an explicit init: their memberwise initialisers' parameters."""
    inits = {}
    for _, src in files:
        for m in re.finditer(r"^(?:\w+\s+)*struct (\w+)\b[^{]*\{", src, re.M):
            body = src[m.end():match_paren(src, m.end() - 1)]
            # Top-level declarations only: drop every nested {...}.
            flat, depth = [], 0
            for ch in body:
                if ch == "{":
                    depth += 1
                    if depth == 1:
                        flat.append("{")
                elif ch == "}":
                    depth -= 1
                elif depth == 0:
                    flat.append(ch)
            flat = "".join(flat)
            if re.search(r"^\s*(?:\w+\s+)*init\(", flat, re.M):
                continue
            params = []
            for d in re.finditer(r"^[ \t]*((?:@\w+[ \t]+)*)((?:private|fileprivate|public|internal)[ \t]+)?(static[ \t]+)?(let|var)[ \t]+(\w+)"
                                 r"[ \t]*(?::[ \t]*([^=\n{]+?))?[ \t]*(=[^\n]*|\{)?[ \t]*$", flat, re.M):
                attrs, _, static, kind, name, typ, rest = d.groups()
                if static or (rest or "").startswith("{"):
                    continue  # static, or computed
                has_default = bool(rest) or (kind == "var" and (typ or "").strip().endswith("?"))
                if kind == "let" and rest:
                    continue  # a constant with a value is not a parameter
                params.append((name, has_default, (typ or "").strip()))
            inits[m.group(1)] = params
    return inits


def check_own_inits(files):
    inits = memberwise_inits(files)
    for path, src in files:
        for name, params in inits.items():
            for m in re.finditer(r"(?<![.\w])" + name + r"\(", src):
                if re.search(r"\b(?:struct|enum|class)\s+$", src[max(0, m.start() - 20):m.start()]):
                    continue
                close = match_paren(src, m.end() - 1)
                args = split_args(src[m.end():close])
                after = src[close + 1:close + 3].lstrip()
                where = f"{path}:{line_of(src, m.start())}"
                # A trailing closure fills the last closure parameter.
                if after.startswith("{") and params and "->" in params[-1][2]:
                    check_labels(where, name, args, params[:-1])
                else:
                    check_labels(where, name, args, params)
    return inits


def check_case_patterns(api, files, own_cases):
    every_case = set()
    for cs in api.enums.values():
        every_case |= cs
    for path, src in files:
        code = without_strings(src)
        for m in re.finditer(r"(?:\bcase\s+(?:let\s+)?|,\s*|\?\s+|:\s*|\(\s*|=\s*|==\s*|!=\s*)\.([a-zA-Z_]\w*)\b", code):
            name = m.group(1)
            if name in every_case or name in own_cases or name in APPLE_SHORTHAND:
                continue
            fail(f"{path}:{line_of(code, m.start())}: .{name} is neither a generated case nor one the app declares")


APPLE_SHORTHAND = set()


def check_conformances(api, files):
    for path, src in files:
        for m in re.finditer(r"\b(?:final\s+)?class (\w+)\s*:\s*([^{]+)\{", src):
            supers = [s.strip() for s in m.group(2).split(",")]
            body = src[m.end():match_paren(src, m.end() - 1)]
            for proto in supers:
                proto = proto.replace("@unchecked", "").strip()
                sigs = api.protocol_sigs.get(proto)
                if sigs is None or proto.endswith("Protocol"):
                    continue
                for name, sig in sigs.items():
                    f = re.search(r"func " + name + r"\(", body)
                    if not f:
                        fail(f"{path}: {m.group(1)} conforms to {proto} but has no func {name}")
                        continue
                    close = match_paren(body, f.end() - 1)
                    mine = normalise_sig(name, parse_params(body[f.end():close]), body[close + 1:].split("\n", 1)[0])
                    if mine != sig:
                        fail(f"{path}: {m.group(1)}.{name} is {fmt_sig(mine)}; {proto} declares {fmt_sig(sig)}")


def fmt_sig(sig):
    name, params, is_async, throws, ret = sig
    s = f"{name}({', '.join(p + ': ' + t for p, t in params)})"
    if is_async:
        s += " async"
    if throws:
        s += " throws"
    if ret:
        s += " -> " + ret
    return s


def own_declarations(files):
    names, cases = set(), set()
    for _, src in files:
        code = without_strings(src)
        names |= set(re.findall(r"\b(?:func|var|let|case|enum|struct|class|typealias)\s+(\w+)", code))
        for m in re.finditer(r"\bcase\s+([^\n{]+)", code):
            for part in split_args(m.group(1)):
                mm = re.match(r"^(\w+)", part.strip())
                if mm and not part.strip().startswith("let"):
                    cases.add(mm.group(1))
        names |= set(re.findall(r"\b(\w+)\s*:", code))
    return names, cases


def check_members(api, files, allowed, own):
    unknown = {}
    for path, src in files:
        code = without_strings(src)
        # Member reads (`row.label`, `x?.y`), key paths (`\.appointmentId`) and
        # members chained on a new line (`    .navigationTitle(...)`).
        for m in re.finditer(r"(?:(?<=[\w\)\]\?!])|\\|^[ \t]*)\.([a-zA-Z_]\w*)", code, re.M):
            name = m.group(1)
            if name in api.members or name in own or name in allowed:
                continue
            unknown.setdefault(name, f"{path}:{line_of(code, m.start())}")
    for name, where in sorted(unknown.items()):
        fail(f"{where}: .{name} is declared neither by the generated API, the app, nor tests/ios/apple_members.txt")


def check_strings(files, catalog_path):
    catalog = json.load(open(catalog_path, encoding="utf-8"))
    strings = catalog.get("strings", {})
    if catalog.get("sourceLanguage") != "en":
        fail(f"{catalog_path}: sourceLanguage is not en")
    used = set()
    placeholder = re.compile(r"%(?:\d+\$)?@")
    for path, src in files:
        for m in re.finditer(r"\bL10n\.t\(", src):
            close = match_paren(src, m.end() - 1)
            args = split_args(src[m.end():close])
            where = f"{path}:{line_of(src, m.start())}"
            if not args:
                fail(f"{where}: L10n.t() without a key")
                continue
            keys = re.findall(r'"([^"\\]+)"', args[0])
            if not keys or re.search(r"\\\(", args[0]):
                fail(f"{where}: the key must be a literal (or a choice of literals) so it can be checked: {args[0]}")
                continue
            for key in keys:
                used.add(key)
                entry = strings.get(key)
                if entry is None:
                    fail(f"{where}: key {key!r} is not in {os.path.basename(catalog_path)}")
                    continue
                for lang in ("en", "cy"):
                    unit = entry.get("localizations", {}).get(lang, {}).get("stringUnit", {})
                    value = unit.get("value", "")
                    if not value.strip():
                        fail(f"{where}: key {key!r} has no {lang} value")
                        continue
                    n = len(placeholder.findall(value))
                    if n != len(args) - 1:
                        fail(f"{where}: key {key!r} ({lang}) has {n} placeholders, the call gives {len(args) - 1} arguments")
                    others = re.findall(r"%(?!(?:\d+\$)?@|%)", value)
                    if others:
                        fail(f"{where}: key {key!r} ({lang}) uses a placeholder other than %@ (arguments are strings)")
        for m in re.finditer(r"\b(Text|Button|Label|Toggle|TextField|SecureField|Section|ProgressView|LabeledContent|"
                             r"navigationTitle|accessibilityLabel|accessibilityHint|confirmationDialog)\(\s*\"", src):
            fail(f"{path}:{line_of(src, m.start())}: literal text in {m.group(1)}(...): use L10n.t or verbatim:")
    for key in sorted(set(strings) - used):
        fail(f"{catalog_path}: key {key!r} is never used")
    return used


def check_models(files, app_dir):
    model_classes = set()
    for _, src in files:
        model_classes |= set(re.findall(r"class (\w+Model)\b", src))
    for path, src in files:
        for m in re.finditer(r"@ObservedObject\s+(?:private\s+)?var\s+\w+\s*(?::\s*\w+)?\s*=", src):
            fail(f"{path}:{line_of(src, m.start())}: @ObservedObject with an initialiser is rebuilt on every render")
        for m in re.finditer(r"\bvar body: some (?:View|Scene)\s*\{", src):
            body = src[m.end():match_paren(src, m.end() - 1)]
            for cls in model_classes:
                for c in re.finditer(r"(?<![.\w])" + cls + r"\(", body):
                    fail(f"{path}:{line_of(src, m.end() + c.start())}: {cls} created inside body")
        for m in re.finditer(r"(?<!await )\bcore\.app\.\w+\(", src):
            fail(f"{path}:{line_of(src, m.start())}: synchronous core call on the caller's actor; use core.run")
        for m in re.finditer(r"\b(print|debugPrint|NSLog|os_log)\(", src):
            fail(f"{path}:{line_of(src, m.start())}: {m.group(1)}( may log personal data; the app logs nothing")
        for m in re.finditer(r"\?\s+try\b|^\s*:\s*try\b", without_strings(src), re.M):
            fail(f"{path}:{line_of(src, m.start())}: 'try' cannot appear to the right of ?: (write try before the condition)")
        for m in re.finditer(r"\.font\(\.system\(size:", src):
            fail(f"{path}:{line_of(src, m.start())}: a fixed font size does not follow Dynamic Type")
    screens = os.path.join(app_dir, "Screens")
    for name in sorted(os.listdir(screens)):
        for part in ("Model", "Screen"):
            if not os.path.isfile(os.path.join(screens, name, f"{name}{part}.swift")):
                fail(f"{screens}/{name}: no {name}{part}.swift")


def check_platform(files, project, package):
    text = {os.path.basename(p): s for p, s in files}
    allsrc = "\n".join(s for _, s in files)
    ks = text.get("KeychainKeyStore.swift", "")
    if not re.search(r"SecAccessControlCreateWithFlags\(\s*nil,\s*kSecAttrAccessibleWhenUnlockedThisDeviceOnly", ks):
        fail("KeychainKeyStore.swift: the key is not created with kSecAttrAccessibleWhenUnlockedThisDeviceOnly access control")
    if "kSecAttrAccessControl" not in ks or ".userPresence" not in ks:
        fail("KeychainKeyStore.swift: the key does not need the device's user (.userPresence)")
    for weak in ("kSecAttrAccessibleAlways", "kSecAttrAccessibleAfterFirstUnlock", "kSecAttrAccessibleWhenUnlocked\b(?!ThisDeviceOnly)"):
        if re.search(weak, allsrc):
            fail(f"a weaker Keychain accessibility class appears: {weak}")
    st = text.get("ProtectedStorage.swift", "")
    if "FileProtectionType.complete" not in st or "isExcludedFromBackup = true" not in st:
        fail("ProtectedStorage.swift: the store folder lacks complete file protection or the backup exclusion")
    if "com.apple.developer.default-data-protection: NSFileProtectionComplete" not in project:
        fail("project.yml: the default data protection entitlement is not NSFileProtectionComplete")
    entry = text.get("FieldbookApp.swift", "")
    if not re.search(r"WindowGroup\s*\{[\s\S]*\.privacyCover\(", entry):
        fail("FieldbookApp.swift: the privacy cover is not applied to the window")
    if not re.search(r"case \.inactive:\s*model\.resignedActive\(\)", entry):
        fail("FieldbookApp.swift: resigning active does not raise the privacy cover")
    if not re.search(r"func resignedActive\(\)\s*\{\s*covered = true", text.get("AppModel.swift", "")):
        fail("AppModel.swift: resignedActive does not cover the screen")
    if "struct PrivacyCover" not in text.get("PrivacyCover.swift", ""):
        fail("PrivacyCover.swift: no PrivacyCover view")
    bg = text.get("BackgroundSync.swift", "")
    ident = re.search(r'static let identifier = "([^"]+)"', bg)
    if "BGAppRefreshTask" not in bg or not ident:
        fail("BackgroundSync.swift: no BGAppRefreshTask with an identifier")
    elif not re.search(r"BGTaskSchedulerPermittedIdentifiers:\s*\[[^\]]*" + re.escape(ident.group(1)), project):
        fail(f"project.yml: BGTaskSchedulerPermittedIdentifiers does not list {ident.group(1)}")
    if not re.search(r"UIBackgroundModes:\s*\[[^\]]*\bfetch\b", project):
        fail("project.yml: UIBackgroundModes lacks fetch")
    if "BackgroundSync.register(" not in entry or "didFinishLaunchingWithOptions" not in entry:
        fail("FieldbookApp.swift: the background task is not registered at launch")
    if ".appStart" not in text.get("AppModel.swift", "") or ".reconnected" not in entry:
        fail("sync on foreground (.appStart) or on reconnect (.reconnected) is missing")
    nt = text.get("LoneWorkerNotifications.swift", "")
    if "interruptionLevel = .timeSensitive" not in nt:
        fail("LoneWorkerNotifications.swift: notifications are not time-sensitive")
    if "com.apple.developer.usernotifications.time-sensitive: true" not in project:
        fail("project.yml: no time-sensitive notifications entitlement")
    for m in re.finditer(r"content\.(title|subtitle|body)\s*=\s*([^\n]+)", nt):
        if not re.fullmatch(r'L10n\.t\("[\w.]+"\)', m.group(2).strip()):
            fail(f"LoneWorkerNotifications.swift: content.{m.group(1)} = {m.group(2).strip()} is not fixed catalog text")
    for m in re.finditer(r"userInfo\s*=\s*(\[[^\]]*\])", nt):
        if m.group(1).replace(" ", "") != '["visitId":visitId]':
            fail(f"LoneWorkerNotifications.swift: userInfo {m.group(1)} holds more than the visit's random id")
    asks = [p for p, s in files if "requestPermission()" in s and "func requestPermission" not in s]
    if [os.path.basename(p) for p in asks] != ["StartVisitModel.swift"]:
        fail(f"notification permission must be asked when a visit starts (StartVisitModel only), asked in: {asks}")
    if not re.search(r'SWIFT_VERSION:\s*"?6', project) or not re.search(r"SWIFT_STRICT_CONCURRENCY:\s*complete", project):
        fail("project.yml: not Swift 6 with complete strict concurrency")
    if not package.startswith("// swift-tools-version:6"):
        fail("Package.swift: swift-tools-version is not 6")


def check_android_parity(files, android_dir):
    android_calls, android_types = set(), set()
    for dirpath, _, names in os.walk(android_dir):
        if "/build" in dirpath or "stubs" in dirpath:
            continue
        for n in names:
            if not n.endswith(".kt"):
                continue
            src = open(os.path.join(dirpath, n), encoding="utf-8").read()
            android_calls |= set(re.findall(r"\b(?:core\.app|app|fieldbook)\.(\w+)\(", src))
            android_types |= set(re.findall(r"^import app\.fieldbook\.core\.(\w+)", src, re.M))
    ios_words = set()
    for _, src in files:
        ios_words |= set(re.findall(r"\w+", src))
    return android_calls, android_types, ios_words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--generated", required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--strings", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--package", required=True)
    ap.add_argument("--android", required=True)
    a = ap.parse_args()

    api = Api(a.generated)
    if not api.app:
        fail(f"{a.generated}: no FieldbookAppProtocol found (is this the generated file?)")
    files = list(swift_files(a.app))
    own, own_cases = own_declarations(files)
    allowed = set()
    allow_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apple_members.txt")
    for line in open(allow_path, encoding="utf-8"):
        line = line.split("#")[0].strip()
        if line:
            allowed |= set(line.split())
    APPLE_SHORTHAND.update(allowed)

    called = check_api(api, files)
    check_case_patterns(api, files, own_cases)
    check_own_inits(files)
    check_conformances(api, files)
    check_members(api, files, allowed, own)
    used = check_strings(files, a.strings)
    check_models(files, a.app)
    check_platform(files, open(a.project).read(), open(a.package).read())

    android_calls, android_types, ios_words = check_android_parity(files, a.android)
    android_core = {c for c in android_calls if c in api.app}
    for name in sorted(android_core - called):
        fail(f"parity: the Android app calls {name} on the core; the iOS app never does")
    kotlin_only = {"FieldbookException": "FieldbookError"}
    for t in sorted(android_types):
        if kotlin_only.get(t, t) not in ios_words:
            fail(f"parity: the Android app uses the core type {t}; the iOS app never names it")

    unused = sorted(set(api.app) - called)
    print(f"checked {len(files)} Swift files: {len(set(api.app) & called)} of {len(api.app)} FieldbookApp methods called "
          f"(not called: {', '.join(unused) or 'none'}); {len(used)} catalog keys in English and Welsh; "
          f"Android parity: {len(android_core)} core methods, {len(android_types)} core types")
    for f in failures:
        print("FAIL:", f)
    sys.exit(min(len(failures), 100))


if __name__ == "__main__":
    main()
