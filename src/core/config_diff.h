/* config_diff.h - what changed between two configurations, as text for people.
 *
 * Owns: comparing two validated vg_config values (pure: no I/O, no daemon).
 * Must not: validate, load, or decide what to do about a change.
 */
#ifndef VIGIL_CONFIG_DIFF_H
#define VIGIL_CONFIG_DIFF_H

#include <stdbool.h>

#include "config.h"

/* The changes from old to new_cfg, one per line ("+ ", "- " or "~ " then what), in a fixed
 * order: cluster options, nodes, fence devices, resources, groups, constraints; within a
 * section by name (constraints by their text form), within an item by field name. Order of
 * items in the file does not count as a change. Returns "" when equal, NULL when out of
 * memory; the caller frees. old may be NULL: then everything is an addition. */
char *vg_config_diff(const vg_config *old, const vg_config *new_cfg);

/* True when resource `name` is defined differently in a and b (type, params, ops, check),
 * or exists in only one of them; false when it is in neither or defined the same. Meta
 * attributes (stickiness, requires, ...) and clone settings do not count. */
bool vg_config_resource_changed(const vg_config *a, const vg_config *b, const char *name);

/* The canonical one-line text of a constraint (what the diff shows, and how constraints
 * are compared), e.g. "order web -> vip", "colocate vip with web score inf",
 * "location web on n1 score 100". Returns malloc'd text, NULL when out of memory. */
char *vg_constraint_text(const vg_constraint *k);

#endif
