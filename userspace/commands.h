/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Control-socket commands: a validated request plus the current snapshot in, the JSON "result"
 * out. Pure: handlers only read the immutable snapshot and build JSON, so they are unit-tested
 * with hand-made snapshots and never touch a socket or a map.
 */
#ifndef LW_COMMANDS_H
#define LW_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "protocol.h"
#include "snapshot.h"

/* Default "n" of each command when the request has none. */
#define LW_TOP_DEFAULT_N	LW_PROTO_DEFAULT_N
/* "every live site": all of them, within the protocol's hard cap */
#define LW_STACKS_DEFAULT_N	LW_PROTO_MAX_N

/* Who is asking, from SO_PEERCRED. */
struct lw_peer {
	uid_t uid;
	bool see_all;		/* root or member of group "leakwatch" */
};

typedef json_t *(*lw_command_fn)(const struct lw_request *req, const struct lw_snapshot *snap,
				 const struct lw_peer *peer, char *err, size_t errlen);

struct lw_command {
	const char *name;
	lw_command_fn handler;	/* NULL: in the protocol, not implemented by this daemon */
	bool needs_pid;
	const char *help;
};

/* The table entry for cmd (never NULL for cmd < LW_CMD_MAX). */
const struct lw_command *lw_command__find(enum lw_cmd cmd);

/*
 * Run one request against snap (which may be NULL before the first drain). Returns the result
 * object (a new reference), or NULL with a one-line reason in err.
 */
json_t *lw_command_run(const struct lw_request *req, const struct lw_snapshot *snap,
		       const struct lw_peer *peer, char *err, size_t errlen);

/* Whether peer may see anything of proc: its own uid, unless it sees all. */
bool lw_peer__can_see(const struct lw_peer *peer, const struct lw_procinfo *proc);

/* One site in the shape of a "top" grower (also used by "stacks"). NULL when out of memory. */
json_t *lw_site__to_json(const struct lw_site_snap *site);

#endif /* LW_COMMANDS_H */
