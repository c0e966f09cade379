/* commands.c - the command table and its dispatch (commands.h).
 *
 * Owns: the table's rows and the checks every command shares. Must not: know what a command
 * does or what a mode holds; handlers and exists() do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "mem.h"

static const vg_cmd table[VG_CMD_COUNT] = {
    {VG_CMD_PING, "ping", VG_TARGET_NONE, false, true, "is vigild there"},
    {VG_CMD_STATUS, "status", VG_TARGET_NONE, false, false, "the cluster, its nodes and resources"},
    {VG_CMD_CONFIG_SHOW, "config.show", VG_TARGET_NONE, false, false,
     "the committed configuration"},
    {VG_CMD_EVENTS, "events", VG_TARGET_NONE, false, false, "the recent events"},
    {VG_CMD_APPLY, "apply", VG_TARGET_NONE, true, false, "commit a new configuration"},
    {VG_CMD_RESOURCE_SHOW, "resource.show", VG_TARGET_RESOURCE, false, false,
     "one resource in detail"},
    {VG_CMD_RESOURCE_RESTART, "resource.restart", VG_TARGET_RESOURCE, true, false,
     "restart a resource where it runs"},
    {VG_CMD_RESOURCE_CLEANUP, "resource.cleanup", VG_TARGET_RESOURCE, true, false,
     "forget a resource's failures and probe it again"},
    {VG_CMD_NODE_STANDBY, "node.standby", VG_TARGET_NODE, true, false,
     "move everything off a node"},
    {VG_CMD_NODE_UNSTANDBY, "node.unstandby", VG_TARGET_NODE, true, false,
     "let a node run resources again"},
    {VG_CMD_NODE_MAINTENANCE, "node.maintenance", VG_TARGET_NODE, true, false,
     "stop or resume managing a node's resources"},
    {VG_CMD_NODE_FENCE, "node.fence", VG_TARGET_NODE, true, false, "fence a node"},
    {VG_CMD_NODE_CONFIRM_DOWN, "node.confirm-down", VG_TARGET_NODE, true, false,
     "record that an operator made sure a node is down"},
};

const vg_cmd *vg_cmd_get(vg_cmd_id id)
{
	return (unsigned)id < VG_CMD_COUNT ? &table[id] : NULL;
}

const vg_cmd *vg_cmd_by_name(const char *name)
{
	for (size_t i = 0; name && i < VG_CMD_COUNT; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

void vg_cmd_fail(vg_control_reply *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->code = code;
	vsnprintf(r->error, sizeof r->error, fmt, ap);
	va_end(ap);
}

void vg_cmd_dispatch(const vg_cmd_handlers *h, void *ctx, bool starting, const char *name,
		     json_t *args, vg_control_reply *r)
{
	const vg_cmd *c = vg_cmd_by_name(name);
	if (!c) {
		vg_cmd_fail(r, 2, "unknown command '%.200s'", name ? name : "");
		r->not_found = true;
		return;
	}
	if (starting && !c->while_starting) {
		vg_cmd_fail(r, 1, "vigild is starting (reading its agents' meta-data); %s refused",
			    c->name);
		return;
	}
	if (!h->fn[c->id]) {
		vg_cmd_fail(r, 2, "'%s' is not available on %s", c->name, h->mode);
		return;
	}
	const char *target = NULL;
	if (c->target != VG_TARGET_NONE) {
		const char *key = c->target == VG_TARGET_RESOURCE ? "name" : "node";
		const char *kind = c->target == VG_TARGET_RESOURCE ? "resource" : "node";
		json_t *v = json_object_get(args, key);
		target = json_string_value(v);
		if (!target || !*target) {
			vg_cmd_fail(r, 2, "%s needs a %s name (\"%s\")", c->name, kind, key);
			return;
		}
		if (h->exists && !h->exists(ctx, c->target, target)) {
			vg_cmd_fail(r, 2, "no %s named '%.200s'", kind, target);
			r->not_found = true;
			return;
		}
	}
	h->fn[c->id](ctx, c, target, args, r);
}
