// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * leakwatchd: the daemon. One thread, one epoll loop: a timer drives the drain, a signalfd
 * carries SIGTERM/SIGINT (stop) and SIGHUP (reload), the BPF ring buffer carries process exits,
 * and the control socket and the HTTP server (/metrics, /debug/pprof/heap) serve clients from the
 * published snapshot.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "evloop.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "uprobe_multi.h"

struct daemon {
	struct lw_config cfg;
	const char *config_path;
	bool config_named;	/* --config given: a missing file is an error */
	char **overrides;	/* command-line keys, re-applied over the file on reload */
	int noverrides;
	int epfd;
	struct lw_watch timer, sig, events;
	struct lw_engine *engine;
	struct lw_server *server;
	struct lw_http *http;	/* NULL when metrics_addr is off */
	struct lw_notify *notify;
	bool stop;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: leakwatchd [OPTIONS]\n"
		"Trace every process's allocations with eBPF and flag the sites that leak.\n\n"
		"  --socket PATH          control socket (default %s)\n"
		"  --interval SECONDS     drain period, fractions allowed, min 0.1 (default 10)\n"
		"  --metrics-addr ADDR    HOST:PORT for /metrics and /debug/pprof/heap, or 'off'\n"
		"                         (default 127.0.0.1:9464)\n"
		"  --config FILE          config file (default %s)\n"
		"  --pid PID[,PID...]     trace only these processes and their children\n"
		"  -C, --set KEY=VALUE    set any config key (see --config-help)\n"
		"  --check                load, attach, report what is traced, exit 0/1\n"
		"  --config-help          list every config key\n"
		"  -v, --verbose          debug logging\n"
		"  -V, --version          print the version\n"
		"  -h, --help             this help\n",
		"/run/leakwatch/leakwatchd.sock", LW_CONFIG_DEFAULT_PATH);
}

/* Build the configuration: defaults, then the file, then the command line. */
static int load_config(struct daemon *d, struct lw_config *out)
{
	char err[LW_CONFIG_ERR_MAX];
	struct lw_config c;

	lw_config__defaults(&c);
	if (lw_config__load_file(&c, d->config_path, d->config_named, err, sizeof(err))) {
		lw_err("%s", err);
		return -EINVAL;
	}
	for (int i = 0; i < d->noverrides; i++) {
		if (lw_config__set_kv(&c, d->overrides[i], err, sizeof(err))) {
			lw_err("%s", err);
			return -EINVAL;
		}
	}
	if (lw_config__validate(&c, err, sizeof(err))) {
		lw_err("%s", err);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

static int add_override(struct daemon *d, const char *key, const char *val)
{
	char **v = realloc(d->overrides, (d->noverrides + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	d->overrides = v;
	if (val) {
		if (asprintf(&v[d->noverrides], "%s=%s", key, val) < 0)
			return -ENOMEM;
	} else {
		v[d->noverrides] = strdup(key);
		if (!v[d->noverrides])
			return -ENOMEM;
	}
	d->noverrides++;
	return 0;
}

static bool have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

static int need_caps(const int *caps, size_t n, const char *why)
{
	static const char *const names[] = {
		[CAP_DAC_READ_SEARCH] = "CAP_DAC_READ_SEARCH", [CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
		[CAP_SYS_ADMIN] = "CAP_SYS_ADMIN", [CAP_PERFMON] = "CAP_PERFMON",
		[CAP_BPF] = "CAP_BPF",
	};

	for (size_t i = 0; i < n; i++) {
		if (!have_cap(caps[i])) {
			lw_err("missing capability %s: %s", names[caps[i]], why);
			return -EPERM;
		}
	}
	return 0;
}

/* /proc/PID/map_files reaches a mapped file that has since been deleted (an upgraded libc). */
static void check_map_files_access(void)
{
	if (!have_cap(CAP_CHECKPOINT_RESTORE) && !have_cap(CAP_SYS_ADMIN))
		lw_warn("no CAP_CHECKPOINT_RESTORE: libraries and programs deleted since processes "
			"mapped them (an upgraded libc) are neither traced nor symbolized");
}

/*
 * The kernel features and privileges the tracer needs, each missing one named in one line, and
 * the attach mode they allow: uprobe_multi links where the kernel has them (unless the
 * configuration says classic), else classic perf-event uprobes, which need CAP_SYS_ADMIN.
 */
static int check_environment(enum lw_attach_mode want, enum lw_attach_mode *mode)
{
	/* BPF and links; other processes' /proc entries; binaries in private directories */
	static const int base[] = { CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH };
	static const int classic[] = { CAP_SYS_ADMIN };
	int err;

	if (need_caps(base, sizeof(base) / sizeof(base[0]),
		      "run as root, or with CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and "
		      "CAP_DAC_READ_SEARCH (and CAP_SYS_ADMIN on kernels before 6.6)"))
		return -EPERM;
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		lw_err("kernel BTF not available (/sys/kernel/btf/vmlinux: %s): leakwatchd needs a "
		       "kernel built with CONFIG_DEBUG_INFO_BTF=y", strerror(errno));
		return -ENOTSUP;
	}
	check_map_files_access();
	*mode = LW_ATTACH_CLASSIC;
	if (want != LW_ATTACH_CLASSIC) {
		err = lw_umulti__probe();
		if (err == -EPERM) {
			lw_err("failed to load BPF programs: %s (BPF not permitted here: a seccomp "
			       "filter, a container, or a security module forbids it)",
			       strerror(EPERM));
			return err;
		}
		if (!err) {
			*mode = LW_ATTACH_MULTI;
			return 0;
		}
		if (want == LW_ATTACH_MULTI) {
			lw_err("attach = multi, but this kernel cannot create uprobe_multi links "
			       "(Linux 6.6 or later): %s; set attach = classic or auto",
			       strerror(-err));
			return -ENOTSUP;
		}
		lw_warn("this kernel cannot create uprobe_multi links (Linux 6.6 or later): "
			"attaching classic perf-event uprobes, which need CAP_SYS_ADMIN");
	}
	return need_caps(classic, 1, want == LW_ATTACH_CLASSIC ?
			 "attach = classic: perf-event uprobes need it" :
			 "this kernel has no uprobe_multi links (Linux 6.6 or later), and classic "
			 "perf-event uprobes need it");
}

/*
 * Session uprobes: LW_SESSION_ON when they will be used, LW_SESSION_OFF when not, or -ENOTSUP
 * when the configuration requires them and they cannot be had.
 */
static int resolve_session(enum lw_session_mode want, enum lw_attach_mode mode)
{
	int err;

	if (want == LW_SESSION_OFF)
		return LW_SESSION_OFF;
	err = mode == LW_ATTACH_MULTI ? lw_umulti__probe_session() : -EOPNOTSUPP;
	if (!err)
		return LW_SESSION_ON;
	if (want == LW_SESSION_ON) {
		lw_err("session = on, but %s: set session = auto or off",
		       mode != LW_ATTACH_MULTI ? "the probes are classic uprobes (session uprobes "
						 "are uprobe_multi links)" :
						 "this kernel has no session uprobes (Linux 6.10 or "
						 "later)");
		return -ENOTSUP;
	}
	lw_info("no session uprobes (%s): return probes are separate",
		mode != LW_ATTACH_MULTI ? "classic attach mode" : "Linux 6.10 or later");
	return LW_SESSION_OFF;
}

static int arm_timer(struct daemon *d)
{
	double iv = d->cfg.interval;
	struct itimerspec its = {
		.it_interval = { (time_t)iv, (long)((iv - (time_t)iv) * 1e9) },
	};

	its.it_value = its.it_interval;
	return timerfd_settime(d->timer.fd, 0, &its, NULL) ? -errno : 0;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct daemon *daemon_of(struct lw_watch *w, size_t off)
{
	return (struct daemon *)((char *)w - off);
}

/* One line for systemctl status: what is traced, and how the last drain went. */
static void report_status(struct daemon *d)
{
	const struct lw_snapshot *snap = lw_engine__snapshot(d->engine);
	const struct lw_status *st = &snap->status;
	char line[256];

	snprintf(line, sizeof(line), "tracing %zu libc object%s (%s), %llu processes, %zu sites; "
		 "last drain %.0f ms", st->nattached, st->nattached == 1 ? "" : "s",
		 st->attach_mode, (unsigned long long)st->tracked_processes, snap->nsites,
		 st->last_drain_duration_sec * 1e3);
	lw_notify__status(d->notify, line);
}

static void on_timer(struct lw_watch *w, uint32_t events)
{
	struct daemon *d = daemon_of(w, offsetof(struct daemon, timer));
	uint64_t expirations;

	if (read(w->fd, &expirations, sizeof(expirations)) < 0)
		return;
	lw_engine__drain(d->engine);
	report_status(d);
}

static void report_change(void *ctx, const char *key, const char *old_val, const char *new_val,
			  bool needs_restart)
{
	if (needs_restart)
		lw_warn("reload: %s stays '%s' until restart (file says '%s')", key, old_val,
			new_val);
	else
		lw_info("reload: %s = %s (was %s)", key, new_val, old_val);
}

static void reload(struct daemon *d)
{
	struct lw_config c;

	lw_notify__reloading(d->notify);
	if (load_config(d, &c)) {
		lw_warn("reload failed: keeping the running configuration");
		lw_notify__ready(d->notify, "reload failed: running with the previous configuration");
		return;
	}
	lw_config__diff(&d->cfg, &c, report_change, NULL);
	lw_log_set_level(c.verbose ? LW_LOG_DEBUG : LW_LOG_INFO);
	lw_engine__reconfigure(d->engine, &c);
	lw_http__set_top_sites(d->http, c.metrics_top_sites);
	/* the running values of the restart-only keys stay what they are */
	memcpy(c.socket, d->cfg.socket, sizeof(c.socket));
	memcpy(c.metrics_addr, d->cfg.metrics_addr, sizeof(c.metrics_addr));
	c.metrics_off = d->cfg.metrics_off;
	memcpy(c.pids, d->cfg.pids, sizeof(c.pids));
	c.npids = d->cfg.npids;
	c.max_allocations = d->cfg.max_allocations;
	c.max_sites = d->cfg.max_sites;
	c.max_stacks = d->cfg.max_stacks;
	c.stack_depth = d->cfg.stack_depth;
	c.attach = d->cfg.attach;
	c.session = d->cfg.session;
	c.sample_bytes = d->cfg.sample_bytes;
	c.history = d->cfg.history;
	c.max_series = d->cfg.max_series;
	d->cfg = c;
	arm_timer(d);
	lw_info("configuration reloaded");
	report_status(d);
	lw_notify__ready(d->notify, NULL);
}

static void on_signal(struct lw_watch *w, uint32_t events)
{
	struct daemon *d = daemon_of(w, offsetof(struct daemon, sig));
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(d);
		else
			d->stop = true;
	}
}

static void on_events(struct lw_watch *w, uint32_t events)
{
	struct daemon *d = daemon_of(w, offsetof(struct daemon, events));

	lw_engine__consume_events(d->engine);
}

static struct lw_snapshot *current_snapshot(void *ctx)
{
	struct daemon *d = ctx;

	return d->engine ? lw_engine__snapshot(d->engine) : NULL;
}

static int start_http(struct daemon *d)
{
	struct lw_http_opts o = {
		.top_sites = d->cfg.metrics_top_sites,
		.current = current_snapshot,
		.ctx = d,
	};
	char host[LW_CONFIG_ADDR_MAX];

	/* validated with the configuration: this cannot fail on a value that got this far */
	if (lw_config__split_hostport(d->cfg.metrics_addr, host, sizeof(host), &o.port)) {
		lw_err("failed to use metrics address '%s'", d->cfg.metrics_addr);
		return -EINVAL;
	}
	o.host = host;
	d->http = lw_http__new(d->epfd, &o);
	return d->http ? 0 : -errno;	/* it said why */
}

/*
 * The loop's own fds, the control socket and the HTTP server: set up before the (slow) BPF
 * load, so that a socket or port in use fails the start at once.
 */
static int setup(struct daemon *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->epfd < 0 || d->sig.fd < 0 || d->timer.fd < 0) {
		lw_err("failed to set up the event loop: %s", strerror(errno));
		return -errno;
	}
	d->sig.cb = on_signal;
	d->timer.cb = on_timer;
	if (lw_watch_add(d->epfd, &d->sig, EPOLLIN) || lw_watch_add(d->epfd, &d->timer, EPOLLIN)) {
		lw_err("failed to set up the event loop: %s", strerror(errno));
		return -errno;
	}
	/* until the engine is up, requests are answered "no data yet" */
	d->server = lw_server__new(d->epfd, d->cfg.socket, current_snapshot, d);
	if (!d->server)
		return -errno;	/* the server said why */
	return d->cfg.metrics_off ? 0 : start_http(d);
}

static int run(struct daemon *d)
{
	struct epoll_event evs[32];

	d->events.cb = on_events;
	d->events.fd = lw_engine__events_fd(d->engine);
	if (lw_watch_add(d->epfd, &d->events, EPOLLIN) || arm_timer(d)) {
		lw_err("failed to set up the event loop: %s", strerror(errno));
		return 1;
	}
	lw_info("tracing; control socket %s, metrics %s, drain every %gs", d->cfg.socket,
		d->cfg.metrics_off ? "off" : d->cfg.metrics_addr, d->cfg.interval);
	/* probes attached, sockets listening: clients may come */
	report_status(d);
	lw_notify__ready(d->notify, NULL);

	while (!d->stop) {
		int wd_ms = lw_notify__tick(d->notify, mono_now());
		int timeout = lw_http__timeout_ms(d->http, 1000);
		int n;

		if (wd_ms >= 0 && wd_ms < timeout)
			timeout = wd_ms;
		n = epoll_wait(d->epfd, evs, sizeof(evs) / sizeof(evs[0]), timeout);

		if (n < 0 && errno != EINTR) {
			lw_err("failed to wait for events: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct lw_watch *w = evs[i].data.ptr;

			w->cb(w, evs[i].events);
		}
		/* once per batch: it frees clients closed while the batch was handled */
		lw_server__tick(d->server, mono_now());
		/* HTTP connection timeouts, and work MHD left for the next call */
		lw_http__run(d->http);
	}
	lw_info("stopping");
	lw_notify__stopping(d->notify);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_INTERVAL, OPT_METRICS, OPT_CONFIG, OPT_PID, OPT_CHECK,
	       OPT_CONFIG_HELP };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "metrics-addr", required_argument, NULL, OPT_METRICS },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "set", required_argument, NULL, 'C' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "config-help", no_argument, NULL, OPT_CONFIG_HELP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct daemon d = { .config_path = LW_CONFIG_DEFAULT_PATH, .epfd = -1,
			    .timer.fd = -1, .sig.fd = -1 };
	enum lw_attach_mode mode;
	struct lw_config run_cfg;
	int session;
	bool check = false;
	int opt, err = 0, ret = 1;

	lw_log_init(LW_LOG_INFO);
	while ((opt = getopt_long(argc, argv, "C:vVh", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SOCKET:
			err = add_override(&d, "socket", optarg);
			break;
		case OPT_INTERVAL:
			err = add_override(&d, "interval", optarg);
			break;
		case OPT_METRICS:
			err = add_override(&d, "metrics_addr", optarg);
			break;
		case OPT_PID:
			err = add_override(&d, "pid", optarg);
			break;
		case 'C':
			err = add_override(&d, optarg, NULL);
			break;
		case 'v':
			err = add_override(&d, "verbose", "true");
			break;
		case OPT_CONFIG:
			d.config_path = optarg;
			d.config_named = true;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_CONFIG_HELP:
			lw_config__print_help(stdout);
			return 0;
		case 'V':
			printf("leakwatchd %s\n", LW_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (err) {
			lw_err("out of memory");
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "leakwatchd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (load_config(&d, &d.cfg))
		return 1;
	lw_log_set_level(d.cfg.verbose ? LW_LOG_DEBUG : LW_LOG_INFO);
	if (check_environment(d.cfg.attach, &mode))
		return 1;
	session = resolve_session(d.cfg.session, mode);
	if (session < 0)
		return 1;

	d.notify = lw_notify__new();
	if (!d.notify) {
		lw_err("out of memory");
		return 1;
	}
	if (!check && setup(&d))
		goto out;
	/* the engine gets the mode the kernel allows; d.cfg keeps what was asked, for reloads */
	run_cfg = d.cfg;
	run_cfg.attach = mode;
	run_cfg.session = session;
	d.engine = lw_engine__new(&run_cfg);
	if (!d.engine)
		goto out;	/* the failing module logged why */
	if (check) {
		ret = lw_engine__report(d.engine, stdout);
		goto out;
	}
	ret = run(&d);
out:
	lw_http__free(d.http);
	lw_server__free(d.server);
	lw_engine__free(d.engine);
	lw_notify__free(d.notify);
	if (d.timer.fd >= 0)
		close(d.timer.fd);
	if (d.sig.fd >= 0)
		close(d.sig.fd);
	if (d.epfd >= 0)
		close(d.epfd);
	for (int i = 0; i < d.noverrides; i++)
		free(d.overrides[i]);
	free(d.overrides);
	return ret;
}
