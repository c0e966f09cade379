/* cluster_fixture.h - a deterministic cluster of N servers in one process, for unit tests.
 *
 * Owns: N simulated servers, each with the REAL coordinator (vg_coord) and the REAL replicated
 * state (vg_repstate), plus a model of the node's local side (what cluster.c and supervisor.c
 * do with memberships, messages, actions and resources); a model of Corosync (rings formed
 * from the links, agreed-order delivery within each ring, CPG group membership, quorum by
 * majority); faults; virtual time; and the invariants checked after every step:
 *   (a) no must-run-once resource (not a clone) is active (starting, running or stopping) on
 *       two live (powered) nodes at once;
 *   (b) no committed replicated change is lost while a majority of the servers lives.
 * On a violation the run stops and fx_trace() gives every event of the run with its time.
 * Must not: read a clock, sleep, use the network or files, or keep global mutable state;
 * everything is in one fx value, so runs are reproducible from their schedule (and seed).
 */
#ifndef VIGIL_CLUSTER_FIXTURE_H
#define VIGIL_CLUSTER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct fx fx;

/* Three servers, a `vip` + `process` group (requires: quorum) and an OCF primitive (requires:
 * fencing); no fence device (recovery of the primitive waits for fencing or confirm-down). */
extern const char FX_YAML_DEFAULT[];
/* The same with a fence device targeting every node (fencing powers the target off). */
extern const char FX_YAML_FENCED[];

typedef struct {
	const char *yaml; /* NULL: FX_YAML_DEFAULT; nodes must be n1..nN with ids 1..N */
	/* the same already loaded (fx_config_load), borrowed: loading runs OCF meta-data, which
	 * thousands of runs should do once; with it, yaml must be the text it was loaded from */
	const vg_config *cfg;
	uint64_t detect_ms;	   /* fault to new membership (Corosync: about 2.2 x token) 1100 */
	uint64_t majority_lag_ms;  /* the quorate side sees a new ring this long after it forms */
	uint64_t minority_lag_ms;  /* and the side without quorum this long after it forms */
	uint64_t latency_ms;	   /* one message's delivery time, >= 1 (default 1) */
	uint64_t start_ms;	   /* default time of a start (5), vip: 1 */
	uint64_t stop_ms;	   /* default time of a stop (5), vip: 1 */
	uint64_t probe_ms;	   /* a probe (2) */
	uint64_t fence_ms;	   /* a fence device's run (3000) */
	uint32_t corosync_hold_ms; /* given to vg_coord_set_corosync_hold (0: not known) */
	uint64_t boot_ms;	   /* every node boots at this time (10) */
	const char *initial_state; /* repstate JSON (vg_repstate_encode) every node boots with,
				      as its saved state.json; NULL: empty */
	bool quiet;		   /* no trace on stderr when a violation happens */
} fx_opts;

/* Kinds of fault for the random schedules (a mask). */
enum {
	FX_F_CRASH = 1u << 0,	      /* a node powers off (later boots again) */
	FX_F_PARTITION = 1u << 1,     /* a symmetric cut into two sides (later healed) */
	FX_F_COORD_CRASH = 1u << 2,   /* the coordinator powers off */
	FX_F_ONEWAY = 1u << 3,	      /* a one-way cut between two nodes */
	FX_F_VIGILD_DEATH = 1u << 4,  /* a vigild dies, its Corosync stays (later restarted) */
	FX_F_COROSYNC_HANG = 1u << 5, /* a Corosync stops for a while, its vigild runs */
	FX_F_SLOW_STOP = 1u << 6,     /* a node's stops take seconds from now on */
	FX_F_STALE = 1u << 7,	      /* a node's last action of an older ring is replayed */
	FX_F_CLOCK_STEP = 1u << 8,    /* a node's wall clock jumps */
	FX_F_COROSYNC_KILL = 1u << 9, /* a Corosync dies, its vigild runs (later restarted) */
};
/* What today's coordinator and node side are expected to survive (issue 8's fixes: the lease
 * and its bounded halt, the view rules of messages). */
#define FX_F_SURVIVABLE                                                                            \
	(FX_F_CRASH | FX_F_PARTITION | FX_F_COORD_CRASH | FX_F_VIGILD_DEATH | FX_F_COROSYNC_HANG | \
	 FX_F_COROSYNC_KILL | FX_F_SLOW_STOP | FX_F_STALE)

/* Loads yaml (NULL: FX_YAML_DEFAULT) as fx_new does; NULL (said on stderr) when invalid.
 * Free with vg_config_free. */
vg_config *fx_config_load(const char *yaml);

fx *fx_new(const fx_opts *o); /* o may be NULL */
void fx_free(fx *f);

/* One step: time moves to the next event and everything due then happens; then the
 * invariants are checked. Returns 0, or -1 once a violation has been found (nothing runs
 * after that). */
int fx_step(fx *f);
/* Steps until `ms` of virtual time have passed. 0 or -1 as fx_step. */
int fx_advance(fx *f, uint64_t ms);

uint64_t fx_now(const fx *f);
bool fx_failed(const fx *f);
const char *fx_violation(const fx *f); /* NULL while none */
const char *fx_trace(const fx *f);     /* every event so far, one a line: "[   123 ms] ..." */
/* Adds a line to the trace (tests mark their own steps). */
void fx_note(fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- faults (node: 1..N) ---- */
void fx_crash(fx *f, int node); /* power off: everything on it stops at once */
void fx_boot(fx *f, int node);	/* power on: Corosync and vigild start, nothing runs */
/* Cut every link between the nodes in `side` and the others, both ways. */
void fx_partition(fx *f, const int *side, size_t n);
void fx_cut_oneway(fx *f, int from, int to); /* from's packets no longer reach to */
void fx_heal(fx *f);			     /* every link works again */
void fx_kill_vigild(fx *f, int node);	     /* its resources keep running as they are */
/* A clean stop (SIGTERM): it reports itself leaving, stops everything in reverse order, says
 * goodbye and exits (its Corosync stays). */
void fx_shutdown_vigild(fx *f, int node);
void fx_start_vigild(fx *f, int node); /* probes and adopts what runs */
void fx_kill_corosync(fx *f, int node);
void fx_start_corosync(fx *f, int node);
/* Corosync on node stops delivering and sending for ms (SIGSTOP); its vigild keeps running. */
void fx_hang_corosync(fx *f, int node, uint64_t ms);
/* From now on a stop of resource (NULL: every resource) on node takes ms (the agent's stop, or
 * how long the service takes to exit after SIGTERM). A vip's stop stays one netlink request;
 * on a halt a process is killed halt_grace after SIGTERM. */
void fx_set_stop_ms(fx *f, int node, const char *resource, uint64_t ms);
/* The last action node's vigild received in an older ring is delivered again, now (as a
 * message queued during TRY_AGAIN and replayed). Returns 0, or -1 when there is none. */
int fx_replay_stale_action(fx *f, int node);
/* node's wall clock jumps by ms (negative: back). */
void fx_clock_step(fx *f, int node, int64_t ms);

/* ---- what is observed ---- */
/* Live nodes on which resource is active (starting, running or stopping). */
size_t fx_active_count(const fx *f, const char *resource);
/* The first live node (1..N) with resource active, 0 when none. */
int fx_holder(const fx *f, const char *resource);
/* The coordinator as node's vigild sees it (1..N), 0 when none (no quorum, vigild down). */
int fx_leader(const fx *f, int node);
/* Whether node's vigild is in step with the cluster's state (its view may act). */
bool fx_synced(const fx *f, int node);
size_t fx_nodes(const fx *f);
/* node's replicated state (its state.json, also while its vigild is down): epoch, version. */
uint64_t fx_epoch(const fx *f, int node);
uint64_t fx_version(const fx *f, int node);

/* ---- random schedules ---- */
typedef struct {
	uint64_t seed;
	unsigned faults;      /* mask of FX_F_* kinds to draw from */
	unsigned n_faults;    /* how many faults in the schedule */
	uint64_t settle_ms;   /* after the last heal: everything must run again by then */
	const char *yaml;     /* NULL: FX_YAML_DEFAULT */
	const vg_config *cfg; /* as in fx_opts */
	bool check_recovery;  /* at the end every resource runs on exactly one node */
	bool keep;	      /* hand the fixture back in *out even when the run passed */
	/* false: each fault is healed and the cluster re-forms and settles before the next;
	 * true: faults may pile up (a cut may change before the sides merged again) */
	bool overlap;
} fx_random_opts;

/* Runs one random schedule. Returns 0; -1 on a violation (or, with check_recovery, when a
 * resource does not run once at the end); *out (if given) then holds the fixture (also after
 * a pass, with keep), to be freed by the caller, for its trace. */
int fx_random_run(const fx_random_opts *o, fx **out);

#endif
