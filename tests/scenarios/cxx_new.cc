// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * C++ new never deleted: cxx_leak_site creates 256-byte Order objects with operator new, 24 every
 * 250 ms (24 KiB/s), and links them into a list nobody deletes. Meanwhile a bounded std::map of
 * std::string values is updated (allocations through operator new that are freed again).
 *
 * operator new lives in libstdc++ and calls malloc: the caller of malloc is operator new, not
 * the program. The expected site is the function that says "new": cxx_leak_site (extern "C", so
 * its symbol is the plain name).
 */
#include <map>
#include <string>

#include "scenario.h"

struct Order {
	Order *next;
	unsigned long id;
	char lines[240];
};

static_assert(sizeof(Order) == 256, "Order is 256 bytes");

static Order *orders;

extern "C" SC_SITE Order *cxx_leak_site(unsigned long id)
{
	Order *o = new Order();

	o->id = id;
	o->next = orders;
	orders = o;
	return o;
}

extern "C" SC_SITE void cxx_session_site(std::map<int, std::string> &sessions, int key, size_t len)
{
	sessions[key] = std::string(len, 'x');
	if (sessions.size() > 200)
		sessions.erase(sessions.begin());
}

int main()
{
	std::map<int, std::string> sessions;
	uint64_t rng = 0x6378786e65770001ULL;
	long long live = 0;
	unsigned long id = 0;

	sc_begin("cxx_new", "leak", "cxx_leak_site");
	for (long tick = 1;; tick++) {
		for (int i = 0; i < 24; i++) {
			sc_touch(cxx_leak_site(id++)->lines, sizeof(orders->lines));
			live += sizeof(Order);
		}
		for (int i = 0; i < 10; i++)
			cxx_session_site(sessions, (int)sc_between(&rng, 0, 1000),
					 (size_t)sc_between(&rng, 32, 600));
		sc_truth(live);
		sc_sleep_until(tick * 0.25);
	}
}
