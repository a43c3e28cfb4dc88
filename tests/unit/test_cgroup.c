// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Labels of the cgroups processes live in: containers, systemd units, paths. */
#include <errno.h>

#include "cgroup.h"
#include "unit.h"

static bool label_is(const char *text, const char *want)
{
	char out[128];

	if (lw_cgroup_label(text, out, sizeof(out)))
		return !want;
	if (!want || strcmp(out, want)) {
		fprintf(stderr, "label of %s: '%s', want '%s'\n", text, out, want ? want : "(none)");
		return false;
	}
	return true;
}

#define ID "3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"

static bool test_units_and_paths(void)
{
	CHECK(label_is("0::/system.slice/redis-server.service\n", "redis-server.service"));
	CHECK(label_is("0::/user.slice/user-0.slice/session-3.scope\n", "session-3.scope"));
	/* a unit's own sub-cgroups keep the unit's name */
	CHECK(label_is("0::/system.slice/leakwatchd.service/payload\n", "leakwatchd.service"));
	CHECK(label_is("0::/\n", "/"));
	CHECK(label_is("0::/my/group", "/my/group"));
	/* cgroup v1: the systemd hierarchy's line */
	CHECK(label_is("12:cpu,cpuacct:/x\n1:name=systemd:/system.slice/cron.service\n",
		       "cron.service"));
	return true;
}

static bool test_containers(void)
{
	CHECK(label_is("0::/system.slice/docker-" ID ".scope\n", "3f1c2a9b8d7e"));
	CHECK(label_is("0::/machine.slice/libpod-" ID ".scope/container\n", "3f1c2a9b8d7e"));
	CHECK(label_is("0::/docker/" ID "\n", "3f1c2a9b8d7e"));
	CHECK(label_is("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
		       "cri-containerd-" ID ".scope\n",
		       "3f1c2a9b8d7e"));
	CHECK(label_is("0::/kubepods/besteffort/pod1234/" ID "\n", "3f1c2a9b8d7e"));
	/* not quite an id: 63 digits, or a capital */
	CHECK(label_is("0::/docker/" "3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1\n",
		       "/docker/3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1"));
	return true;
}

static bool test_nothing(void)
{
	char out[8] = "x";

	CHECK(lw_cgroup_label("", out, sizeof(out)) == -ENOENT && !out[0]);
	CHECK(lw_cgroup_label(NULL, out, sizeof(out)) == -ENOENT);
	CHECK(lw_cgroup_label("3:memory:/x\n", out, sizeof(out)) == -ENOENT);
	CHECK(lw_cgroup_label("0::", out, sizeof(out)) == -ENOENT);
	/* cut to the buffer, terminated */
	CHECK(!lw_cgroup_label("0::/system.slice/averyveryverylongname.service", out, sizeof(out)) &&
	      strlen(out) == 7);
	return true;
}

UNIT_MAIN(UNIT_TEST(test_units_and_paths), UNIT_TEST(test_containers), UNIT_TEST(test_nothing))
