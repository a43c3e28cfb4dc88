// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* C++ names: demangled by the C++ runtime, cut at the parameter list. */
#include <stdlib.h>

#include "demangle.h"
#include "unit.h"

static bool simplified(const char *in, const char *want)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	lw_demangle_simplify(buf);
	CHECK_STR(buf, want);
	return true;
}

static bool test_simplify(void)
{
	CHECK(simplified("cxx_leak_site(unsigned long)", "cxx_leak_site"));
	CHECK(simplified("ns::Cache::insert(std::string const&, unsigned long) const",
			 "ns::Cache::insert"));
	CHECK(simplified("std::vector<int, std::allocator<int> >::_M_realloc_insert<int>(int&&)",
			 "std::vector<int, std::allocator<int> >::_M_realloc_insert<int>"));
	CHECK(simplified("Foo<void (*)(int)>::call(int)", "Foo<void (*)(int)>::call"));
	CHECK(simplified("(anonymous namespace)::helper(int)", "(anonymous namespace)::helper"));
	CHECK(simplified("main::{lambda(int)#1}::operator()(int) const",
			 "main::{lambda(int)#1}::operator()"));
	CHECK(simplified("Matrix::operator<<(int)", "Matrix::operator<<"));
	CHECK(simplified("Matrix::operator<(Matrix const&) const", "Matrix::operator<"));
	CHECK(simplified("Pool::operator new(unsigned long)", "Pool::operator new"));
	CHECK(simplified("void std::vector<Order*, std::allocator<Order*> >::_M_realloc_insert<Order*>"
			 "(__gnu_cxx::__normal_iterator<Order**, std::vector<Order*> >, Order*&&)",
			 "std::vector<Order*, std::allocator<Order*> >::_M_realloc_insert<Order*>"));
	CHECK(simplified("unsigned long ns::count<int>(int)", "ns::count<int>"));
	CHECK(simplified("Pool::operator delete[](void*)", "Pool::operator delete[]"));
	CHECK(simplified("Box::operator bool() const", "Box::operator bool"));
	CHECK(simplified("not_a_function", "not_a_function"));
	CHECK(simplified("", ""));
	/* unbalanced brackets never run past the end */
	CHECK(simplified("a<<(b", "a<<(b"));
	return true;
}

static bool test_demangle(void)
{
	char *s;

	CHECK(!lw_demangle("malloc") && !lw_demangle("_Zbogus") && !lw_demangle(""));
	s = lw_demangle("_Z13cxx_leak_sitem");
	CHECK(s);
	CHECK_STR(s, "cxx_leak_site");
	free(s);
	s = lw_demangle("_ZN5Cache6insertERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEm");
	CHECK(s);
	CHECK_STR(s, "Cache::insert");
	free(s);
	s = lw_demangle("_ZNKSt6vectorIiSaIiEE4sizeEv");
	CHECK(s);
	CHECK_STR(s, "std::vector<int, std::allocator<int> >::size");
	free(s);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_simplify), UNIT_TEST(test_demangle))
