/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * C++ symbol names as people write them: "Cache::insert" for _ZN5Cache6insertERKSsm. The
 * demangling is the C++ runtime's (__cxa_demangle); the simplification that drops the
 * parameter list is pure.
 */
#ifndef LW_DEMANGLE_H
#define LW_DEMANGLE_H

/*
 * A malloc'd readable name for an Itanium-mangled symbol ("_Z..."), simplified as below, or
 * NULL when sym is not mangled or does not demangle (the caller keeps sym).
 */
char *lw_demangle(const char *sym);

/*
 * Cut a demangled function name to its qualified name, in place: "void ns::f<int>(int) const"
 * -> "ns::f<int>" (no return type, no parameters). Parentheses and spaces inside template
 * arguments, "(anonymous namespace)", lambdas ("{lambda(int)#1}"), "operator()" and
 * "operator new" are part of the name.
 */
void lw_demangle_simplify(char *name);

#endif /* LW_DEMANGLE_H */
