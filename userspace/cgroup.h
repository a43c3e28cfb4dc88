/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A process's cgroup, as a short label for people and Prometheus: the container id when the
 * cgroup is a container's (Docker, Podman, containerd, CRI-O, Kubernetes pods), else the systemd
 * unit (redis-server.service, session-3.scope), else the cgroup path. Pure: parses what
 * /proc/PID/cgroup says.
 */
#ifndef LW_CGROUP_H
#define LW_CGROUP_H

#include <stddef.h>

/*
 * The label of the cgroup described by text (the contents of /proc/PID/cgroup: the v2 line
 * "0::/path", else the v1 systemd hierarchy's). A container id is its first 12 hex digits.
 * 0, or -ENOENT when text names no cgroup (out is then "").
 */
int lw_cgroup_label(const char *text, char *out, size_t len);

#endif /* LW_CGROUP_H */
