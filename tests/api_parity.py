#!/usr/bin/env python3
"""Checks that the generated Swift bindings declare the same public API as
the Kotlin ones (Swift cannot be compiled here): the same types, and the same
methods on each exported object and platform trait.

usage: api_parity.py <kotlin .kt file> <swift .swift file>
"""
import re
import sys

INTERNAL = re.compile(r"^(FfiConverter|Uniffi|Ffi|Rust|_|Callback|NoPointer|Disposable|Lift|Lower|ForeignBytes|InternalException|InternalError|Native|Integrity|.*VTable|.*Callback$|.*Handle.*Map|UniffiHandle)")


def kotlin(text):
    types = set(re.findall(r"^(?:public )?(?:data class|open class|class|enum class|sealed class|interface) (\w+)", text, re.M))
    types |= set(re.findall(r"^\s{4}(?:data )?class (\w+)\(.*\) : FieldbookException", text, re.M))
    methods = {}
    for name, body in re.findall(r"^public interface (\w+)Interface \{(.*?)^\}", text, re.M | re.S):
        methods[name] = set(re.findall(r"fun `?(\w+)`?\(", body))
    for name, body in re.findall(r"^public interface (\w+) \{(.*?)^\}", text, re.M | re.S):
        if name.endswith("Interface") or INTERNAL.match(name):
            continue
        methods.setdefault(name, set()).update(re.findall(r"fun `?(\w+)`?\(", body))
    return norm(types), methods


def swift(text):
    types = set(re.findall(r"^(?:public )?(?:open class|class|struct|enum|protocol) (\w+)", text, re.M))
    methods = {}
    for name, body in re.findall(r"^public protocol (\w+?)(?:Protocol)?\s*:.*?\{(.*?)^\}", text, re.M | re.S):
        methods[name] = set(re.findall(r"func (\w+)\(", body))
    return norm(types), methods


def norm(types):
    out = set()
    for t in types:
        if INTERNAL.match(t):
            continue
        t = re.sub(r"(Interface|Protocol)$", "", t)
        t = re.sub(r"Exception$", "Error", t)
        out.add(t)
    return out


def main():
    kt_types, kt_methods = kotlin(open(sys.argv[1]).read())
    sw_types, sw_methods = swift(open(sys.argv[2]).read())
    problems = []
    if not kt_types or not sw_types:
        problems.append("no types found: generation failed?")
    for t in sorted(kt_types ^ sw_types):
        problems.append(f"type {t}: only in {'Kotlin' if t in kt_types else 'Swift'}")
    for obj in sorted(set(kt_methods) | set(sw_methods)):
        k = kt_methods.get(obj, set())
        s = sw_methods.get(obj, set())
        for m in sorted(k ^ s):
            problems.append(f"{obj}.{m}: only in {'Kotlin' if m in k else 'Swift'}")
    print(f"Kotlin: {len(kt_types)} types, {sum(map(len, kt_methods.values()))} methods; "
          f"Swift: {len(sw_types)} types, {sum(map(len, sw_methods.values()))} methods")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("API parity OK")


main()
